"""Content addressing of renders: the same inputs give the same key, any change gives another."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from chalicelib.render.template import RenderParams, Template, parse_params

# Bump when the pipeline's output changes for the same inputs, so stored renders are not reused.
RENDERER_VERSION = 1


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral() else str(value)
    if isinstance(value, float):
        return _plain(Decimal(repr(value)))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def render_key(
    template: Template,
    product: Mapping[str, Any],
    params: RenderParams | Mapping[str, Any] | None,
    asset_sha256s: Sequence[str],
    size: str,
    duration: float,
    *,
    caption_lines: Sequence[str] | None = None,
) -> str:
    """sha256 hex of everything that decides the pixels and samples of a render.

    ``product`` holds the fields shown (``title``, ``price``, ``currency``); ``asset_sha256s`` are the
    sha256 of every input file in order (product images, then logo, music, voice, background video,
    with ``""`` for an absent one) so a re-uploaded identical image keeps the key.
    """
    if not isinstance(params, RenderParams):
        params = parse_params(dict(params or {}))
    params_doc = params.model_dump(mode="json", exclude_none=True)
    doc = {
        "renderer": RENDERER_VERSION,
        "template": template.model_dump(mode="json"),
        "product": {k: _plain(product.get(k)) for k in ("title", "price", "currency")},
        "params": _plain(params_doc),
        "assets": list(asset_sha256s),
        "size": size,
        "duration": round(float(duration) * 30) / 30,
        "captions": list(caption_lines or []),
    }
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def asset_digests(
    images: Sequence[Path],
    *,
    logo: Path | None = None,
    music: Path | None = None,
    voice: Path | None = None,
    background_video: Path | None = None,
) -> list[str]:
    """The ``asset_sha256s`` of :func:`render_key` computed from local files."""
    return [file_sha256(p) for p in images] + [
        file_sha256(p) if p is not None else "" for p in (logo, music, voice, background_video)
    ]
