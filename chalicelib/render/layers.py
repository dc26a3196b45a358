"""Static layers drawn once with Pillow: backgrounds, text cards, pulse sprites, logo, product images.

Everything that does not change from frame to frame is an image here; ffmpeg moves, fades and
composes them (see :mod:`chalicelib.render.compose`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from chalicelib.render.errors import AssetError
from chalicelib.render.fonts import FreeTypeFont, load_font
from chalicelib.render.template import (
    BlurredImageBackground,
    Font,
    GradientBackground,
    SolidBackground,
)

MAX_SOURCE_PIXELS = 40_000_000


def rgba(color: str, opacity: float = 1.0) -> tuple[int, int, int, int]:
    value = color.lstrip("#")
    r, g, b = int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)
    a = int(value[6:8], 16) if len(value) == 8 else 255
    return r, g, b, round(a * opacity)


def open_image(path: Path, what: str) -> Image.Image:
    """Open, verify and normalize (EXIF orientation, RGBA) an image; AssetError with the reason."""
    try:
        with Image.open(path) as probe:
            if probe.width * probe.height > MAX_SOURCE_PIXELS:
                raise AssetError(f"{what} ({path.name}) is too large: {probe.width}x{probe.height} pixels")
            probe.verify()
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img) or img
            return img.convert("RGBA")
    except AssetError:
        raise
    except FileNotFoundError:
        raise AssetError(f"{what} is missing: {path}") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise AssetError(f"{what} ({path.name}) is not a readable image: {exc}") from None


def cover(img: Image.Image, w: int, h: int, *, focus_y: float = 0.45) -> Image.Image:
    """Scale and crop ``img`` to fill ``w``x``h`` (centre crop, slightly above the middle)."""
    scale = max(w / img.width, h / img.height)
    sw, sh = max(w, round(img.width * scale)), max(h, round(img.height * scale))
    resized = img.resize((sw, sh), Image.Resampling.LANCZOS)
    left = (sw - w) // 2
    top = min(sh - h, max(0, round((sh - h) * focus_y)))
    return resized.crop((left, top, left + w, top + h))


def gradient(w: int, h: int, colors: Sequence[str], angle: float) -> Image.Image:
    """A linear gradient through ``colors``; ``angle`` 0 runs left to right, 180 top to bottom."""
    rad = math.radians(angle)
    dx, dy = math.cos(rad), math.sin(rad)
    # Sample at low resolution and upscale: smooth, and fast even for 1080x1920.
    sw, sh = max(2, w // 8), max(2, h // 8)
    yy, xx = np.mgrid[0:sh, 0:sw].astype(np.float64)
    ox = 0 if dx >= 0 else sw
    oy = 0 if dy >= 0 else sh
    t = np.clip(((xx - ox) * dx + (yy - oy) * dy) / (abs(dx) * sw + abs(dy) * sh), 0, 1)
    stops = np.array([rgba(c)[:3] for c in colors], dtype=np.float64)
    pos = np.linspace(0, 1, len(stops))
    rgb = np.stack([np.interp(t, pos, stops[:, k]) for k in range(3)], axis=-1)
    small = Image.fromarray(np.round(rgb).astype(np.uint8))
    return small.resize((w, h), Image.Resampling.BICUBIC)


def background(
    spec: SolidBackground | GradientBackground | BlurredImageBackground,
    w: int,
    h: int,
    first_image: Image.Image | None,
) -> Image.Image:
    if isinstance(spec, SolidBackground):
        return Image.new("RGB", (w, h), rgba(spec.color)[:3])
    if isinstance(spec, GradientBackground):
        return gradient(w, h, spec.colors, spec.angle)
    if first_image is None:
        return Image.new("RGB", (w, h), (20, 20, 24))
    # Blur at a quarter of the size: the same look for a fraction of the work.
    small = cover(first_image.convert("RGB"), max(1, w // 4), max(1, h // 4))
    small = small.filter(ImageFilter.GaussianBlur(spec.blur / 4))
    img = small.resize((w, h), Image.Resampling.BICUBIC)
    if spec.tint:
        img = Image.blend(img, Image.new("RGB", (w, h), rgba(spec.tint)[:3]), 0.35)
    if spec.dim:
        img = Image.blend(img, Image.new("RGB", (w, h), (0, 0, 0)), spec.dim)
    return img


def dim_overlay(w: int, h: int, dim: float) -> Image.Image:
    return Image.new("RGBA", (w, h), (0, 0, 0, round(255 * dim)))


# Text -------------------------------------------------------------------------------------------


def _wrap(text: str, font: FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        words = paragraph.split()
        line = ""
        for word in words:
            trial = f"{line} {word}".strip()
            if not line or font.getlength(trial) <= width:
                line = trial
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def fit_text(
    text: str, spec: Font, size: int, width: int, max_lines: int, *, min_size: int = 16
) -> tuple[FreeTypeFont, list[str]]:
    """Wrap ``text`` into ``width``, shrinking the font until it fits ``max_lines`` (then ellipsis)."""
    size = max(min_size, size)
    while True:
        font = load_font(spec, size)
        lines = _wrap(text, font, width)
        too_wide = any(font.getlength(line) > width for line in lines)
        if (len(lines) <= max_lines and not too_wide) or size <= min_size:
            break
        size = max(min_size, int(size * 0.92))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1].rstrip()
        lines[-1] = last + "…"
    return font, lines


def text_card(
    lines: Sequence[str],
    font: FreeTypeFont,
    *,
    color: str,
    align: str = "center",
    line_spacing: float = 1.15,
    stroke_color: str | None = None,
    stroke_width: int = 0,
    shadow: bool = False,
    backdrop: str | None = None,
    radius: int = 0,
    padding: int = 0,
    min_width: int = 0,
    suffix_arrow: bool = False,
) -> Image.Image:
    """Draw text lines as an RGBA image tightly around the text (plus padding, backdrop, shadow)."""
    ascent, descent = font.getmetrics() if hasattr(font, "getmetrics") else (font.size, 0)
    line_h = round((ascent + descent) * line_spacing)
    widths = [font.getlength(line) for line in lines]
    arrow_w = round(ascent * 0.55) if suffix_arrow else 0
    gap = round(ascent * 0.3) if suffix_arrow else 0
    text_w = math.ceil(max(widths, default=0)) + arrow_w + gap + 2 * stroke_width
    text_h = line_h * (len(lines) - 1) + ascent + descent + 2 * stroke_width
    pad = padding if backdrop else 0
    shadow_pad = max(6, font.size // 10) if shadow else 0
    w = max(min_width, text_w + 2 * pad) + 2 * shadow_pad
    h = text_h + 2 * pad + 2 * shadow_pad
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    inner = (shadow_pad, shadow_pad, w - shadow_pad - 1, h - shadow_pad - 1)
    if shadow:
        mask = Image.new("L", (w, h), 0)
        md = ImageDraw.Draw(mask)
        if backdrop:
            md.rounded_rectangle(inner, radius=radius, fill=150)
        else:
            _draw_lines(
                md, lines, widths, font, inner, pad, line_h, align, stroke_width, 150, None, arrow_w, gap
            )
        mask = mask.filter(ImageFilter.GaussianBlur(max(2, shadow_pad // 2)))
        offset = max(2, shadow_pad // 2)
        shifted = Image.new("L", (w, h), 0)
        shifted.paste(mask, (0, offset))
        img.paste((0, 0, 0, 255), (0, 0, w, h), shifted)
    draw = ImageDraw.Draw(img)
    if backdrop:
        draw.rounded_rectangle(inner, radius=min(radius, (inner[3] - inner[1]) // 2), fill=rgba(backdrop))
    _draw_lines(
        draw,
        lines,
        widths,
        font,
        inner,
        pad,
        line_h,
        align,
        stroke_width,
        rgba(color),
        rgba(stroke_color) if stroke_color and stroke_width else None,
        arrow_w,
        gap,
    )
    return img


def _draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: Sequence[str],
    widths: Sequence[float],
    font: FreeTypeFont,
    inner: tuple[int, int, int, int],
    pad: int,
    line_h: int,
    align: str,
    stroke: int,
    fill: int | tuple[int, int, int, int],
    stroke_fill: tuple[int, int, int, int] | None,
    arrow_w: int,
    gap: int,
) -> None:
    left, top, right, _ = inner
    avail = right - left - 2 * pad - 2 * stroke - arrow_w - gap
    for i, (line, lw) in enumerate(zip(lines, widths, strict=True)):
        if align == "left":
            x = left + pad + stroke
        elif align == "right":
            x = left + pad + stroke + avail - lw
        else:
            x = left + pad + stroke + (avail - lw) / 2
        y = top + pad + stroke + i * line_h
        kwargs = {"stroke_width": stroke, "stroke_fill": stroke_fill} if stroke_fill else {}
        draw.text((x, y), line, font=font, fill=fill, **kwargs)
        if arrow_w and i == len(lines) - 1:
            ascent = font.getmetrics()[0] if hasattr(font, "getmetrics") else font.size
            ax = x + lw + gap
            cy = y + ascent * 0.62
            half = arrow_w * 0.55
            draw.polygon([(ax, cy - half), (ax + arrow_w, cy), (ax, cy + half)], fill=fill)


def pulse_frames(
    card: Image.Image, amplitude: float, period: float, beat: float, fps: int
) -> list[Image.Image]:
    """One period of a pulse: the card scaled by 1 + amplitude·sin(π·phase/beat) while phase < beat.

    Every frame has the size of the largest so ffmpeg can loop them as one short sequence.
    """
    n = max(2, round(period * fps))
    big_w = math.ceil(card.width * (1 + amplitude)) + 2
    big_h = math.ceil(card.height * (1 + amplitude)) + 2
    big_w += big_w % 2
    big_h += big_h % 2
    frames: list[Image.Image] = []
    cache: dict[int, Image.Image] = {}
    for i in range(n):
        phase = i / n
        s = 1 + amplitude * math.sin(math.pi * phase / beat) if phase < beat else 1.0
        key = round(s * 1000)
        if key not in cache:
            w, h = round(card.width * s), round(card.height * s)
            frame = Image.new("RGBA", (big_w, big_h), (0, 0, 0, 0))
            scaled = card if key == 1000 else card.resize((w, h), Image.Resampling.BICUBIC)
            frame.alpha_composite(scaled, ((big_w - w) // 2, (big_h - h) // 2))
            cache[key] = frame
        frames.append(cache[key])
    return frames


def logo(img: Image.Image, width: int, opacity: float) -> Image.Image:
    h = max(1, round(img.height * width / img.width))
    out = img.resize((width, h), Image.Resampling.LANCZOS)
    if opacity < 1:
        alpha = out.getchannel("A").point(lambda a: round(a * opacity))
        out.putalpha(alpha)
    return out


def rounded_mask(w: int, h: int, radius: int) -> Image.Image:
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, w - 1, h - 1), radius=radius, fill=255)
    return mask


def card_shadow(canvas: Image.Image, x: int, y: int, w: int, h: int, radius: int, blur: int) -> None:
    """Draw a soft drop shadow under a box onto an RGB canvas."""
    pad = blur * 3
    mask = Image.new("L", (w + 2 * pad, h + 2 * pad), 0)
    ImageDraw.Draw(mask).rounded_rectangle((pad, pad, pad + w, pad + h), radius=radius, fill=140)
    mask = mask.filter(ImageFilter.GaussianBlur(blur))
    canvas.paste((0, 0, 0), (x - pad, y - pad + blur // 2), mask)


def border(canvas: Image.Image, x: int, y: int, w: int, h: int, radius: int, width: int, color: str) -> None:
    ImageDraw.Draw(canvas).rounded_rectangle(
        (x - width, y - width, x + w + width - 1, y + h + width - 1), radius=radius + width, fill=rgba(color)
    )
