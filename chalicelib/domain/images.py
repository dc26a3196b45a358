"""Product images: recognising the type by magic bytes and normalizing with Pillow.

Pure: bytes in, bytes out, no AWS or HTTP. The rules:

- Only JPEG, PNG and WebP are accepted, recognised by their first bytes (never the Content-Type
  header or the URL's extension), and the decoded format must agree with the magic bytes.
- At most ``MAX_PIXELS`` pixels, checked from the header before a single pixel is decoded, so a
  decompression bomb (a small file that claims a huge canvas) is refused without allocating it.
- Normalized: EXIF orientation applied (the result is upright and carries no EXIF), colour
  converted to sRGB RGB (CMYK, greyscale, palette, 16-bit, ICC profiles), at most ``MAX_SIDE``
  pixels on the long side, animations reduced to their first frame.
- Stored as JPEG quality 90, except when the alpha channel is really used (some pixel not fully
  opaque: a product cut-out), which stays RGBA in PNG so the renderer can lay it over any
  background. An alpha channel that is fully opaque is dropped (RGBA → RGB JPEG).

The same input bytes always give the same output bytes, so the stored object's sha256 is a stable
content address.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
JPEG_QUALITY = 90

SourceType = Literal["jpeg", "png", "webp"]
_PIL_FORMATS: dict[str, SourceType] = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "MPO": "jpeg"}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}


class ImageRejected(ValueError):
    """The bytes are not an acceptable image; ``code`` is a short machine-readable reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class NormalizedImage:
    data: bytes
    extension: Literal["jpg", "png"]
    width: int
    height: int
    source_type: SourceType
    source_width: int
    source_height: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.extension]


def sniff(head: bytes) -> SourceType | None:
    """The image type the first bytes announce (12 are enough), or None."""
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def _srgb(image: Image.Image) -> Image.Image:
    """Convert an image with an embedded ICC profile to sRGB; without one, leave it."""
    profile = image.info.get("icc_profile")
    if not profile or image.mode not in ("RGB", "RGBA", "CMYK"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        target = ImageCms.createProfile("sRGB")
        out_mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, source, target, outputMode=out_mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: keep the pixels as they are rather than fail the image
    return converted if converted is not None else image


def _to_rgb_or_rgba(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        image = image.point(lambda value: value / 256).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if has_alpha:
        image = image.convert("RGBA")
        low, _high = image.getchannel("A").getextrema()
        if low < 255:
            return image
        return image.convert("RGB")
    return image.convert("RGB") if image.mode != "RGB" else image


def normalize(data: bytes) -> NormalizedImage:
    """Check and normalize ``data``; raises ``ImageRejected`` with a reason otherwise."""
    if len(data) > MAX_BYTES:
        raise ImageRejected("too_large", f"{len(data)} bytes; the limit is {MAX_BYTES}")
    kind = sniff(data[:12])
    if kind is None:
        raise ImageRejected("not_an_image", "not a JPEG, PNG or WebP image (by its first bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG", "WEBP"])
            found = _PIL_FORMATS.get(image.format or "")
            if found != kind:
                raise ImageRejected("not_an_image", f"announces {kind} but decodes as {image.format}")
            width, height = image.size
            if width < 1 or height < 1:
                raise ImageRejected("not_an_image", "the image has no pixels")
            if width * height > MAX_PIXELS:
                raise ImageRejected(
                    "too_many_pixels",
                    f"{width}x{height} is {width * height} pixels; the limit is {MAX_PIXELS}",
                )
            if kind == "jpeg":
                # decode at a reduced scale when the result would be shrunk anyway
                image.draft(image.mode, (MAX_SIDE, MAX_SIDE))
            image.seek(0)
            image.load()
            exif_orientation = image.getexif().get(0x0112)
            upright = ImageOps.exif_transpose(image) if exif_orientation not in (None, 1) else image
            assert upright is not None
            out = _to_rgb_or_rgba(_srgb(upright))
            if max(out.size) > MAX_SIDE:
                out.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own check in ``open`` (above 89 MP, so above ours as well)
        raise ImageRejected("too_many_pixels", f"more than {MAX_PIXELS} pixels: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected("not_an_image", f"cannot decode the {kind} image: {exc}") from None
    buffer = io.BytesIO()
    if out.mode == "RGBA":
        out.save(buffer, format="PNG", compress_level=6)
        extension: Literal["jpg", "png"] = "png"
    else:
        out.save(buffer, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        extension = "jpg"
    return NormalizedImage(
        data=buffer.getvalue(),
        extension=extension,
        width=out.size[0],
        height=out.size[1],
        source_type=kind,
        source_width=width,
        source_height=height,
    )
