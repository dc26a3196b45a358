"""The renderer: templates, layers, the ffmpeg pipeline and thumbnails. Importable without AWS.

Importing this package is cheap: ``chalicelib.render.template`` needs only pydantic (the API
validates templates with it), while the pipeline's Pillow, numpy and ffmpeg load on first use of
:func:`render`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.render.errors import AssetError, DurationError, EncoderError, RenderError
    from chalicelib.render.keys import asset_digests, render_key
    from chalicelib.render.pipeline import CaptionLine, Product, RenderResult, render
    from chalicelib.render.template import (
        RenderParams,
        Template,
        TemplateError,
        builtin_template_ids,
        load_builtin,
        parse_params,
        parse_template,
    )

_EXPORTS = {
    "render": "pipeline",
    "Product": "pipeline",
    "CaptionLine": "pipeline",
    "RenderResult": "pipeline",
    "render_key": "keys",
    "asset_digests": "keys",
    "RenderError": "errors",
    "AssetError": "errors",
    "DurationError": "errors",
    "EncoderError": "errors",
    "Template": "template",
    "RenderParams": "template",
    "TemplateError": "template",
    "parse_template": "template",
    "parse_params": "template",
    "load_builtin": "template",
    "builtin_template_ids": "template",
}

__all__ = [
    "AssetError",
    "CaptionLine",
    "DurationError",
    "EncoderError",
    "Product",
    "RenderError",
    "RenderParams",
    "RenderResult",
    "Template",
    "TemplateError",
    "asset_digests",
    "builtin_template_ids",
    "load_builtin",
    "parse_params",
    "parse_template",
    "render",
    "render_key",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(f"chalicelib.render.{module}"), name)
