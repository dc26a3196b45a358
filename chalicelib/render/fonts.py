"""Fonts that ship with the renderer: Montserrat and Roboto (SIL OFL 1.1, from the PyPI packages
``fontpkg-montserrat`` and ``fontpkg-roboto``), with Pillow's built-in font as the last resort."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PIL import ImageFont

from chalicelib.render.template import Font

FreeTypeFont = ImageFont.FreeTypeFont | ImageFont.ImageFont


@cache
def font_file(family: str, italic: bool = False) -> Path | None:
    try:
        if family == "Montserrat":
            import fontpkg_montserrat as pkg

            name = "Montserrat-Italic[wght].ttf" if italic else "Montserrat[wght].ttf"
        elif family == "Roboto":
            import fontpkg_roboto as pkg  # type: ignore[no-redef]

            name = "Roboto-Italic[wdth,wght].ttf" if italic else "Roboto[wdth,wght].ttf"
        else:
            return None
    except ImportError:  # pragma: no cover - the renderer image always installs both
        return None
    path = Path(pkg.ROOT) / "files" / name
    return path if path.is_file() else None


@cache
def load_font(spec: Font, size: int) -> FreeTypeFont:
    """The font at ``size`` pixels with the spec's weight set on the variable font's axes."""
    path = font_file(spec.family, spec.italic)
    if path is None:
        return ImageFont.load_default(size=size)
    font = ImageFont.truetype(str(path), size=size)
    axes = font.get_variation_axes()
    values = []
    for axis in axes:
        name = axis["name"].decode() if isinstance(axis["name"], bytes) else str(axis["name"])
        if name.lower() == "weight":
            values.append(max(axis["minimum"], min(axis["maximum"], spec.weight)))
        else:
            values.append(axis["default"] if name.lower() != "width" else axis["maximum"])
    if values:
        font.set_variation_by_axes(values)
    return font
