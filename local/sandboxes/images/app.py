"""The product-image sandbox: a WSGI app that draws deterministic, good-looking product shots.

- ``GET /images/{name}.jpg|png|webp?w=&h=&seed=`` a studio shot: gradient backdrop with a soft
  spotlight, a product (bottle, box, jar, tube, can or pouch, chosen from the name unless the name
  starts with one of them) with cylinder or face shading, a specular highlight, a contact shadow
  and a label with a brand and a product line. The same URL always gives the same bytes.
  Options: ``orient=1..8`` stores the pixels turned and an EXIF orientation that turns them upright
  again (JPEG only); ``alpha=1`` (PNG/WebP) a cut-out on a transparent background; ``alpha=opaque``
  an RGBA PNG whose alpha is fully opaque.
- ``GET /broken/404``, ``/broken/500``, ``/broken/not-an-image`` (HTML sent as image/jpeg),
  ``/broken/huge`` (a small PNG that declares 10000x10000 pixels: a decompression bomb),
  ``/broken/too-big`` (16 MiB with a Content-Length), ``/broken/too-big-chunked`` (the same
  without one), ``/broken/truncated`` (half a JPEG), ``/broken/slow`` (answers after 8 s).
- ``GET /redirect/{n}/{path}`` redirects ``n`` times, then to ``/{path}``; ``GET /redirect?to=URL``
  redirects once to any URL (tests of the fetcher's redirect checks).
- ``GET /_sandbox/hits`` the requests received per path (also ``ImagesSandbox.hits()``).
"""

from __future__ import annotations

import hashlib
import io
import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

Environ = dict[str, Any]
StartResponse = Callable[..., Any]

SHAPES = ("bottle", "box", "jar", "tube", "can", "pouch")
MAX_SIDE = 6000
DRAW_SIDE = 1600  # drawn at most this large, then scaled: big sizes stay fast
BIG = 16 * 1024 * 1024

# backdrop top, backdrop bottom, product body, label, accent (cap, text)
PALETTES: tuple[tuple[str, str, str, str, str], ...] = (
    ("#f6e7dc", "#e2b8a0", "#c8553d", "#fff4ea", "#3b1f1a"),
    ("#e8f1f2", "#a9c6cf", "#1b4965", "#f3f7f8", "#0b2233"),
    ("#f4f1de", "#d8c99b", "#3d405b", "#f4f1de", "#e07a5f"),
    ("#fdf0f4", "#e9b7c8", "#ffffff", "#b5495b", "#5c1a2b"),
    ("#eef4ea", "#b9d3a8", "#386641", "#f2e8cf", "#1f3a24"),
    ("#f0ecf7", "#b9abd8", "#22223b", "#f2e9e4", "#4a4e69"),
    ("#fff7e0", "#f2c14e", "#f78154", "#fffaf0", "#4d5061"),
    ("#e9eef5", "#c3cfe2", "#d9d9d9", "#2b2d42", "#edf2f4"),
)
BRANDS = ("AURA", "NOVA", "LUMA", "PURE", "VELA", "ORRO", "KAYA", "MIRA", "SOLE", "TERRA")
LINES = {
    "bottle": ("Hydrating Serum", "Face Oil", "Body Mist", "Shampoo"),
    "box": ("Wireless Earbuds", "Smart Watch", "Gift Set", "Tea Selection"),
    "jar": ("Night Cream", "Clay Mask", "Body Butter", "Lip Balm"),
    "tube": ("Hand Cream", "Sunscreen SPF50", "Toothpaste", "Cleanser"),
    "can": ("Sparkling Water", "Cold Brew", "Energy Drink", "Protein Shake"),
    "pouch": ("Granola", "Coffee Beans", "Dog Treats", "Trail Mix"),
}
_INVERSE_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _rgb(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def _shade(color: tuple[int, int, int], factor: float) -> tuple[int, int, int]:
    if factor >= 1:
        return tuple(round(c + (255 - c) * (factor - 1)) for c in color)  # type: ignore[return-value]
    return tuple(round(c * factor) for c in color)  # type: ignore[return-value]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def _backdrop(size: tuple[int, int], top: str, bottom: str) -> Image.Image:
    w, h = size
    vertical = Image.linear_gradient("L").resize((w, h), Image.Resampling.BILINEAR)
    image = Image.composite(Image.new("RGB", size, _rgb(bottom)), Image.new("RGB", size, _rgb(top)), vertical)
    spot = Image.radial_gradient("L").resize((int(w * 1.3), int(h * 1.4)), Image.Resampling.BILINEAR)
    spot = ImageChops.invert(spot).crop((int(w * 0.15), int(h * 0.2), int(w * 0.15) + w, int(h * 0.2) + h))
    light = Image.new("RGB", size, _shade(_rgb(top), 1.35))
    return Image.composite(light, image, spot.point(lambda v: int(v * 0.55)))


def _cylinder(size: tuple[int, int], color: tuple[int, int, int]) -> Image.Image:
    """A body lit from the front-left: dark rims, a bright band left of centre."""
    w, h = size
    profile = Image.new("L", (256, 1))
    values = []
    for x in range(256):
        t = x / 255
        light = 0.45 + 0.75 * math.sin(math.pi * t) ** 0.8 - 0.15 * t
        band = 0.35 * math.exp(-(((t - 0.32) / 0.06) ** 2))
        values.append(max(0, min(255, int(200 * (light + band)))))
    profile.putdata(values)
    shading = profile.resize((max(1, w), max(1, h)), Image.Resampling.BILINEAR)
    base = Image.new("RGB", (max(1, w), max(1, h)), color)
    lit = ImageChops.multiply(base, Image.merge("RGB", [shading] * 3))
    highlight = shading.point(lambda v: max(0, v - 215) * 5)
    return Image.composite(Image.new("RGB", lit.size, (255, 255, 255)), lit, highlight)


def _paste_shape(
    canvas: Image.Image, mask_canvas: Image.Image, fill: Image.Image, mask: Image.Image, at: tuple[int, int]
) -> None:
    canvas.paste(fill, at, mask)
    mask_canvas.paste(mask, at, mask)


def _rounded_mask(size: tuple[int, int], radius: int) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius=radius, fill=255)
    return mask


def _label(
    canvas: Image.Image, box: tuple[int, int, int, int], brand: str, line: str, paper: str, ink: str
) -> None:
    x0, y0, x1, y1 = box
    draw = ImageDraw.Draw(canvas)
    draw.rounded_rectangle(box, radius=max(2, (x1 - x0) // 16), fill=_rgb(paper))
    width = x1 - x0
    brand_font = _font(int(width * 0.2))
    line_font = _font(int(width * 0.085))
    cx = (x0 + x1) // 2
    draw.text((cx, y0 + (y1 - y0) * 0.38), brand, font=brand_font, fill=_rgb(ink), anchor="mm")
    draw.line(
        (x0 + width * 0.3, y0 + (y1 - y0) * 0.58, x1 - width * 0.3, y0 + (y1 - y0) * 0.58),
        fill=_rgb(ink),
        width=max(1, width // 120),
    )
    draw.text((cx, y0 + (y1 - y0) * 0.74), line, font=line_font, fill=_rgb(ink), anchor="mm")


def _product(
    shape: str, size: tuple[int, int], palette: tuple[str, ...], brand: str, line: str
) -> tuple[Image.Image, Image.Image, tuple[int, int, int, int]]:
    """The product on a transparent layer: (colour, mask, bounding box of its footprint)."""
    w, h = size
    _top, _bottom, body_hex, paper, ink = palette
    body = _rgb(body_hex)
    layer = Image.new("RGB", size, (0, 0, 0))
    mask = Image.new("L", size, 0)
    unit = min(w, h)
    cx, floor = w // 2, int(h * 0.86)
    if shape in ("bottle", "can", "jar", "tube"):
        dims = {"bottle": (0.30, 0.52), "can": (0.28, 0.46), "jar": (0.42, 0.30), "tube": (0.26, 0.56)}
        bw, bh = int(unit * dims[shape][0]), int(unit * dims[shape][1])
        x0, y0 = cx - bw // 2, floor - bh
        radius = {"bottle": bw // 5, "can": bw // 10, "jar": bw // 8, "tube": bw // 6}[shape]
        _paste_shape(layer, mask, _cylinder((bw, bh), body), _rounded_mask((bw, bh), radius), (x0, y0))
        cap_color = _rgb(ink)
        if shape == "bottle":
            nw, nh = int(bw * 0.38), int(bh * 0.2)
            _paste_shape(
                layer,
                mask,
                _cylinder((nw, nh), cap_color),
                _rounded_mask((nw, nh), nw // 6),
                (cx - nw // 2, y0 - nh + radius // 2),
            )
        elif shape == "jar":
            lw, lh = int(bw * 1.04), int(bh * 0.26)
            _paste_shape(
                layer,
                mask,
                _cylinder((lw, lh), cap_color),
                _rounded_mask((lw, lh), lh // 4),
                (cx - lw // 2, y0 - lh + 2),
            )
        elif shape == "tube":
            cw, ch = int(bw * 0.5), int(bh * 0.12)
            _paste_shape(
                layer,
                mask,
                _cylinder((cw, ch), cap_color),
                _rounded_mask((cw, ch), ch // 5),
                (cx - cw // 2, floor - ch // 3),
            )
            crimp = Image.new("L", (bw, max(2, bh // 14)), 255)
            _paste_shape(layer, mask, _cylinder(crimp.size, _shade(body, 0.8)), crimp, (x0, y0))
        else:  # can: rims
            rim = max(2, bh // 28)
            for y in (y0, floor - rim):
                _paste_shape(
                    layer,
                    mask,
                    _cylinder((bw, rim), (200, 200, 205)),
                    _rounded_mask((bw, rim), rim // 2),
                    (x0, y),
                )
        label_h = int(bh * (0.42 if shape != "jar" else 0.5))
        label_top = y0 + int(bh * (0.3 if shape != "jar" else 0.28))
        label_box = (x0 + bw // 10, label_top, x0 + bw - bw // 10, label_top + label_h)
        _label(layer, label_box, brand, line, paper, ink)
        footprint = (x0, floor - bw // 10, x0 + bw, floor + bw // 10)
    else:  # box or pouch
        if shape == "box":
            fw, fh, depth = int(unit * 0.42), int(unit * 0.42), int(unit * 0.12)
            x0, y0 = cx - (fw + depth) // 2, floor - fh
            draw = ImageDraw.Draw(layer)
            mdraw = ImageDraw.Draw(mask)
            front = (x0, y0, x0 + fw, floor)
            side = [
                (x0 + fw, y0),
                (x0 + fw + depth, y0 - depth),
                (x0 + fw + depth, floor - depth),
                (x0 + fw, floor),
            ]
            top = [(x0, y0), (x0 + depth, y0 - depth), (x0 + fw + depth, y0 - depth), (x0 + fw, y0)]
            front_fill = Image.linear_gradient("L").rotate(90).resize((fw, fh))
            front_img = Image.composite(
                Image.new("RGB", (fw, fh), _shade(body, 1.08)),
                Image.new("RGB", (fw, fh), _shade(body, 0.85)),
                front_fill,
            )
            layer.paste(front_img, front[:2])
            draw.polygon(side, fill=_shade(body, 0.62))
            draw.polygon(top, fill=_shade(body, 1.25))
            for poly in (side, top):
                mdraw.polygon(poly, fill=255)
            mdraw.rectangle(front, fill=255)
            draw.rectangle((x0, y0 + fh // 12, x0 + fw, y0 + fh // 12 + max(2, fh // 40)), fill=_rgb(ink))
            _label(
                layer,
                (x0 + fw // 8, y0 + fh // 4, x0 + fw - fw // 8, y0 + fh * 3 // 4),
                brand,
                line,
                paper,
                ink,
            )
            footprint = (x0, floor - depth // 2, x0 + fw + depth, floor + depth // 3)
        else:
            pw, ph = int(unit * 0.40), int(unit * 0.54)
            x0, y0 = cx - pw // 2, floor - ph
            pouch_mask = Image.new("L", (pw, ph), 0)
            ImageDraw.Draw(pouch_mask).polygon(
                [(pw * 0.06, 0), (pw * 0.94, 0), (pw, ph * 0.96), (pw * 0.5, ph), (0, ph * 0.96)], fill=255
            )
            pouch_mask = pouch_mask.filter(ImageFilter.GaussianBlur(max(1, pw // 200)))
            _paste_shape(layer, mask, _cylinder((pw, ph), body), pouch_mask, (x0, y0))
            ImageDraw.Draw(layer).rectangle(
                (x0 + pw // 12, y0 + ph // 18, x0 + pw - pw // 12, y0 + ph // 18 + max(2, ph // 60)),
                fill=_shade(body, 0.7),
            )
            _label(
                layer,
                (x0 + pw // 8, y0 + ph // 3, x0 + pw - pw // 8, y0 + ph * 3 // 4),
                brand,
                line,
                paper,
                ink,
            )
            footprint = (x0, floor - pw // 12, x0 + pw, floor + pw // 12)
    return layer, mask, footprint


def render_shot(name: str, width: int, height: int, seed: int) -> Image.Image:
    """The upright RGBA product shot (alpha: the product and its shadow only)."""
    rng = random.Random(f"{name}:{seed}")  # noqa: S311 - deterministic pictures, not secrets
    lowered = name.lower()
    shape = next((s for s in SHAPES if lowered.startswith(s)), None)
    if shape is None:
        digest = hashlib.sha256(name.encode()).digest()
        shape = SHAPES[digest[0] % len(SHAPES)]
    palette = rng.choice(PALETTES)
    brand, line = rng.choice(BRANDS), rng.choice(LINES[shape])
    scale = min(1.0, DRAW_SIDE / max(width, height))
    size = (max(16, round(width * scale)), max(16, round(height * scale)))
    layer, mask, footprint = _product(shape, size, palette, brand, line)
    shadow = Image.new("L", size, 0)
    x0, y0, x1, y1 = footprint
    spread = (x1 - x0) // 6
    ImageDraw.Draw(shadow).ellipse((x0 - spread, y0, x1 + spread, y1), fill=150)
    shadow = shadow.filter(ImageFilter.GaussianBlur(max(2, (x1 - x0) // 14)))
    shot = Image.new("RGBA", size, (0, 0, 0, 0))
    shot.paste(Image.new("RGBA", size, (20, 16, 12, 255)), (0, 0), shadow)
    product = layer.convert("RGBA")
    product.putalpha(mask)
    shot = Image.alpha_composite(shot, product)
    if size != (width, height):
        shot = shot.resize((width, height), Image.Resampling.BICUBIC)
    return shot


def _backdrop_for(name: str, width: int, height: int, seed: int) -> Image.Image:
    rng = random.Random(f"{name}:{seed}")  # noqa: S311
    palette = rng.choice(PALETTES)
    scale = min(1.0, DRAW_SIDE / max(width, height))
    size = (max(16, round(width * scale)), max(16, round(height * scale)))
    backdrop = _backdrop(size, palette[0], palette[1])
    return backdrop.resize((width, height), Image.Resampling.BICUBIC) if size != (width, height) else backdrop


@lru_cache(maxsize=64)
def product_image(name: str, ext: str, width: int, height: int, seed: int, orient: int, alpha: str) -> bytes:
    """The encoded picture (cached: the same request gives the same bytes)."""
    shot = render_shot(name, width, height, seed)
    buffer = io.BytesIO()
    if alpha == "1" and ext in ("png", "webp"):
        picture: Image.Image = shot
    else:
        picture = _backdrop_for(name, width, height, seed).convert("RGBA")
        picture = Image.alpha_composite(picture, shot)
        if not (alpha == "opaque" and ext == "png"):
            picture = picture.convert("RGB")
    if ext == "jpg":
        exif = Image.Exif()
        if orient in _INVERSE_ORIENTATION:
            picture = picture.transpose(_INVERSE_ORIENTATION[orient])
            exif[0x0112] = orient
        picture.save(buffer, format="JPEG", quality=88, exif=exif.tobytes() if orient > 1 else b"")
    elif ext == "png":
        picture.save(buffer, format="PNG", compress_level=6)
    else:
        picture.save(buffer, format="WEBP", quality=85, method=4)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def _bomb() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000), 1).save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


class ImagesSandbox:
    """The WSGI app; thread-safe; counts the requests it serves per path."""

    def __init__(self, *, slow_seconds: float = 8.0) -> None:
        self.slow_seconds = slow_seconds
        self._hits: Counter[str] = Counter()
        self._lock = threading.Lock()

    def hits(self, path: str | None = None) -> int | dict[str, int]:
        with self._lock:
            return self._hits[path] if path is not None else dict(self._hits)

    def total_hits(self) -> int:
        with self._lock:
            return sum(self._hits.values())

    def clear_hits(self) -> None:
        with self._lock:
            self._hits.clear()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        query = dict(parse_qsl(environ.get("QUERY_STRING") or ""))
        with self._lock:
            self._hits[path] += 1
        try:
            return self._route(environ.get("REQUEST_METHOD", "GET"), path, query, start_response)
        except ValueError as exc:
            return _text(start_response, "400 Bad Request", str(exc))

    def _route(
        self, method: str, path: str, query: dict[str, str], start_response: StartResponse
    ) -> Iterable[bytes]:
        if method not in ("GET", "HEAD"):
            return _text(start_response, "405 Method Not Allowed", "GET only")
        if path == "/_sandbox/hits":
            import json

            body = json.dumps(self.hits()).encode()
            start_response(
                "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            )
            return [body]
        match = re.fullmatch(r"/images/([^/]+)\.(jpg|jpeg|png|webp)", path)
        if match:
            name, ext = match.group(1), match.group(2).replace("jpeg", "jpg")
            if not _NAME.match(name):
                raise ValueError("name: letters, digits, '_', '-', '.' (1-100)")
            width, height = _int(query, "w", 1200), _int(query, "h", 1200)
            if not (16 <= width <= MAX_SIDE and 16 <= height <= MAX_SIDE):
                raise ValueError(f"w and h must be between 16 and {MAX_SIDE}")
            orient = _int(query, "orient", 1)
            if not 1 <= orient <= 8:
                raise ValueError("orient must be 1..8")
            data = product_image(
                name, ext, width, height, _int(query, "seed", 0), orient, query.get("alpha", "")
            )
            content_type = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[ext]
            return _bytes(start_response, data, content_type, cache=True)
        redirect = re.fullmatch(r"/redirect/(\d+)/(.+)", path)
        if redirect:
            hops, rest = int(redirect.group(1)), redirect.group(2)
            qs = "&".join(f"{k}={v}" for k, v in query.items())
            target = f"/redirect/{hops - 1}/{rest}" if hops > 1 else f"/{rest}"
            return _redirect(start_response, target + (f"?{qs}" if qs else ""))
        if path == "/redirect" and query.get("to"):
            return _redirect(start_response, query["to"])
        if path.startswith("/broken/"):
            return self._broken(path.removeprefix("/broken/"), start_response)
        return _text(start_response, "404 Not Found", f"no such image: {path}")

    def _broken(self, case: str, start_response: StartResponse) -> Iterable[bytes]:
        if case == "404":
            return _text(start_response, "404 Not Found", "gone")
        if case == "500":
            return _text(start_response, "500 Internal Server Error", "boom")
        if case == "not-an-image":
            page = b"<!doctype html><html><body><h1>Sign in to see this image</h1></body></html>"
            return _bytes(start_response, page, "image/jpeg")
        if case == "huge":
            return _bytes(start_response, _bomb(), "image/png")
        if case == "too-big":
            start_response("200 OK", [("Content-Type", "image/jpeg"), ("Content-Length", str(BIG))])
            return _zeros(BIG)
        if case == "too-big-chunked":
            start_response("200 OK", [("Content-Type", "image/jpeg")])
            return _zeros(BIG)
        if case == "truncated":
            data = product_image("bottle-truncated", "jpg", 800, 800, 0, 1, "")
            return _bytes(start_response, data[: len(data) // 2], "image/jpeg")
        if case == "slow":
            time.sleep(self.slow_seconds)
            return _bytes(start_response, product_image("box-slow", "jpg", 400, 400, 0, 1, ""), "image/jpeg")
        return _text(start_response, "404 Not Found", f"no such broken case: {case}")


def _int(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


def _zeros(total: int) -> Iterator[bytes]:
    chunk = b"\xff\xd8\xff\xe0" + bytes(65_532)
    sent = 0
    while sent < total:
        part = chunk[: min(len(chunk), total - sent)]
        sent += len(part)
        yield part


def _bytes(
    start_response: StartResponse, data: bytes, content_type: str, *, cache: bool = False
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(data)))]
    if cache:
        headers.append(("Cache-Control", "public, max-age=86400"))
    start_response("200 OK", headers)
    return [data]


def _text(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(
        status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _redirect(start_response: StartResponse, location: str) -> list[bytes]:
    start_response("302 Found", [("Location", location), ("Content-Length", "0")])
    return [b""]


def create_app(**options: Any) -> ImagesSandbox:
    return ImagesSandbox(**options)
