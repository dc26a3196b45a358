"""A deterministic sample product (photo-like images and a logo) for benchmarks, tests and demos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from chalicelib.render.pipeline import Product

_PALETTES = [
    ((236, 226, 214), (196, 120, 84), (60, 52, 48)),
    ((214, 228, 240), (52, 96, 168), (24, 32, 56)),
    ((226, 236, 212), (104, 150, 72), (40, 56, 36)),
    ((240, 220, 232), (176, 72, 128), (56, 28, 44)),
]


def product_photo(index: int, width: int = 1200, height: int = 1500) -> Image.Image:
    """A studio-like shot: soft backdrop gradient, a lit object with a shadow, fine grain."""
    back, body, dark = _PALETTES[index % len(_PALETTES)]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 1.0 - 0.35 * ((xx - width * 0.3) ** 2 + (yy - height * 0.25) ** 2) ** 0.5 / max(width, height)
    img = np.empty((height, width, 3), np.float32)
    for c in range(3):
        img[..., c] = back[c] * light
    rng = np.random.default_rng(index)
    img += rng.normal(0, 4, img.shape)
    photo = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    shadow = Image.new("L", (width, height), 0)
    cx, cy = width // 2, int(height * 0.55)
    ow, oh = int(width * 0.46), int(height * 0.5)
    ImageDraw.Draw(shadow).ellipse(
        (cx - ow // 2, cy + oh // 2 - 40, cx + ow // 2, cy + oh // 2 + 60), fill=150
    )
    photo.paste(dark, (0, 0), shadow.filter(ImageFilter.GaussianBlur(30)))
    draw = ImageDraw.Draw(photo)
    draw.rounded_rectangle(
        (cx - ow // 2, cy - oh // 2, cx + ow // 2, cy + oh // 2), radius=ow // 5, fill=body
    )
    draw.ellipse((cx - ow // 4, cy - oh // 3, cx + ow // 4, cy - oh // 3 + ow // 2), fill=dark)
    draw.rounded_rectangle((cx - ow // 3, cy + oh // 6, cx + ow // 3, cy + oh // 4), radius=12, fill=back)
    highlight = Image.new("L", (width, height), 0)
    ImageDraw.Draw(highlight).ellipse((cx - ow // 3, cy - oh // 2 + 20, cx - ow // 8, cy), fill=90)
    photo.paste((255, 255, 255), (0, 0), highlight.filter(ImageFilter.GaussianBlur(25)))
    return photo


def sample_logo(width: int = 400, height: int = 160) -> Image.Image:
    logo = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.rounded_rectangle((0, 0, width - 1, height - 1), radius=height // 2, fill=(255, 255, 255, 235))
    draw.ellipse((24, 24, height - 24, height - 24), fill=(255, 45, 85, 255))
    draw.rectangle((height + 10, height // 2 - 14, width - 40, height // 2 + 14), fill=(20, 20, 20, 255))
    return logo


def sample_product(folder: Path, images: int = 3) -> Product:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(images):
        path = folder / f"product-{i}.jpg"
        if not path.is_file():
            product_photo(i).save(path, quality=90)
        paths.append(path)
    logo = folder / "logo.png"
    if not logo.is_file():
        sample_logo().save(logo)
    return Product(
        title="AirPulse Pro Wireless Earbuds with Active Noise Cancelling",
        price="49.99",
        currency="USD",
        images=tuple(paths),
        logo=logo,
    )
