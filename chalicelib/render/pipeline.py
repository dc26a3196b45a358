"""render(): a template and a product in, an MP4, its thumbnail and metadata out.

1. Pillow draws every static layer once (background, text cards, price pulse sprite, logo, product
   images cropped to their box) into a temporary folder.
2. One ffmpeg process composes them with a single filter graph (:mod:`chalicelib.render.compose`)
   and encodes H.264 High yuv420p 30 fps. The soundtrack (AAC 44.1 kHz stereo) is mixed and encoded
   by a second ffmpeg started before the layers are drawn, while a core is idle, and the two are
   muxed by stream copy with ``+faststart``.
3. The thumbnail is the composed frame at the template's thumbnail time, a JPEG written by the
   same ffmpeg process (the composed frames are split and one is kept), so no second process
   decodes the MP4 for it. A keyframe is forced at its time, so a platform's cover-frame seek, or
   :func:`extract_thumbnail`, decodes one frame.
4. A full render also gets an animated preview: 3 muted seconds at 360x640 (H.264, ``+faststart``)
   from the thumbnail's frame on (the thumbnail is its poster), another output of the same ffmpeg
   process: split, trimmed and scaled down, so it costs next to nothing beside the main encode.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

from PIL import Image

from chalicelib.render import ffmpeg, layers
from chalicelib.render.compose import (
    FPS,
    Graph,
    Window,
    ease_in,
    ken_burns,
    ken_burns_source_scale,
    looped,
    num,
    place,
    still,
)
from chalicelib.render.errors import AssetError, DurationError, RenderError
from chalicelib.render.template import (
    MAX_SECONDS,
    BlurredImageBackground,
    CaptionsLayer,
    CtaLayer,
    Enter,
    Exit,
    LabelLayer,
    LogoLayer,
    PriceLayer,
    ProductImagesLayer,
    RenderParams,
    Template,
    TitleLayer,
    VideoBackground,
    parse_params,
)

Size = Literal["1080x1920", "720x1280"]
SIZES: dict[str, tuple[int, int]] = {"1080x1920": (1080, 1920), "720x1280": (720, 1280)}
MIN_PREVIEW_SECONDS = 1.0
CLIP_SECONDS = 3.0  # the animated preview of a full render
CLIP_SIZE = (360, 640)
CLIP_CRF = "26"  # small enough for a feed of previews; the clip is a teaser, not the video
ProgressCallback = Callable[[float], None]
_L = TypeVar("_L")


@dataclass(frozen=True)
class Product:
    title: str
    price: Decimal | float | str | None
    currency: str = "USD"
    images: Sequence[Path] = ()
    logo: Path | None = None


@dataclass(frozen=True)
class CaptionLine:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class RenderResult:
    video: Path
    thumbnail: Path
    metadata: dict[str, Any] = field(default_factory=dict)
    preview: Path | None = None  # the animated preview (full renders)


_SYMBOLS = {
    "USD": "$",
    "EUR": "€",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "¥",
    "AUD": "A$",
    "CAD": "CA$",
    "SGD": "S$",
}
_ZERO_DECIMAL = {"JPY", "KRW", "VND", "IDR", "CLP", "HUF"}


def format_price(price: Decimal | float | str | None, currency: str) -> str:
    if price is None or price == "":
        return ""
    try:
        value = Decimal(str(price))
    except InvalidOperation:
        return str(price)
    code = currency.upper()
    quant = Decimal(1) if code in _ZERO_DECIMAL else Decimal("0.01")
    text = f"{value.quantize(quant, rounding=ROUND_HALF_UP):,}"
    symbol = _SYMBOLS.get(code)
    if code == "EUR":
        return f"{text} €"
    return f"{symbol}{text}" if symbol else f"{code} {text}"


def even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _caption_lines(lines: Sequence[str | CaptionLine], start: float, duration: float) -> list[CaptionLine]:
    timed: list[CaptionLine] = []
    plain = [line for line in lines if isinstance(line, str) and line.strip()]
    if plain:
        end = max(start + 0.5, duration - 0.2)
        each = (end - start) / len(plain)
        timed += [CaptionLine(text, start + i * each, start + (i + 1) * each) for i, text in enumerate(plain)]
    timed += [line for line in lines if isinstance(line, CaptionLine)]
    return timed


def _write_layer(img: Image.Image, path: Path) -> None:
    if img.mode == "RGB":
        img.save(path)
    else:
        img.save(path, compress_level=0)


@cache
def _audio_pool() -> ThreadPoolExecutor:
    """Threads that wait on soundtrack encodes (one per render in flight) while the video is made."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="render-audio")


@cache
def _layer_pool() -> ThreadPoolExecutor:
    """Threads for Pillow's resizes and file writes (it releases the GIL for both)."""
    return ThreadPoolExecutor(max_workers=ffmpeg.threads(), thread_name_prefix="render-layers")


class _Renderer:
    def __init__(
        self,
        template: Template,
        product: Product,
        params: RenderParams,
        duration: float,
        size: str,
        work: Path,
        caption_lines: Sequence[str | CaptionLine] | None,
        background_video: Path | None,
    ) -> None:
        self.t, self.product, self.params, self.duration = template, product, params, duration
        self.width, self.height = SIZES[size]
        self.scale = self.width / template.canvas.width
        self.work = work
        self.captions = caption_lines or []
        self.background_video = background_video
        self.graph = Graph()
        self.images: list[Image.Image] = []
        self.bg_canvas: Image.Image | None = None  # the static background, when there is one
        self.pending: list[Future[object]] = []
        self.sources: dict[int, list[Future[Image.Image]]] = {}  # a product images layer -> its sources

    def s(self, value: float) -> int:
        return round(value * self.scale)

    def layer_file(self, img: Image.Image, name: str) -> Path:
        """Where ``img`` will be for ffmpeg: uncompressed (BMP, or PNG level 0 for alpha), as writing
        beats zipping. It is written on the layer pool; :meth:`written` waits for every file."""
        path = self.work / f"{name}.{'bmp' if img.mode == 'RGB' else 'png'}"
        self.pending.append(_layer_pool().submit(_write_layer, img, path))
        return path

    def written(self) -> None:
        """Wait for every layer file; the first failure to write one is raised."""
        pending, self.pending = self.pending, []
        errors = [exc for exc in (future.exception() for future in pending) if exc is not None]
        if errors:
            raise errors[0]

    def load_images(self) -> None:
        wanted = max((layer.max_images for layer in self._of(ProductImagesLayer)), default=1)
        needs_images = any(self._of(ProductImagesLayer)) or isinstance(
            self.t.background, BlurredImageBackground
        )
        if needs_images and not self.product.images:
            raise AssetError("the product has no images")
        paths = list(self.product.images)[:wanted]
        opened = _layer_pool().map(
            lambda i: layers.open_image(Path(paths[i]), f"product image {i + 1}"), range(len(paths))
        )
        self.images = list(opened)
        # the Ken Burns sources are resized on the pool while the other layers are drawn
        for layer in self._of(ProductImagesLayer):
            w, h = self._source_size(layer)
            self.sources[id(layer)] = [
                _layer_pool().submit(layers.cover, img.convert("RGB"), w, h)
                for img in self.images[: layer.max_images]
            ]

    def _box_size(self, layer: ProductImagesLayer) -> tuple[int, int]:
        return even(self.s(layer.box.w)), even(self.s(layer.box.h))

    def _source_size(self, layer: ProductImagesLayer) -> tuple[int, int]:
        """The Ken Burns source of an image: its box at the layer's deepest zoom."""
        bw, bh = self._box_size(layer)
        scale = ken_burns_source_scale(layer.motion)
        return even(bw * scale), even(bh * scale)

    def _of(self, kind: type[_L]) -> list[_L]:
        return [layer for layer in self.t.layers if isinstance(layer, kind)]

    # The static background -----------------------------------------------------------------

    def base(self) -> str:
        bg = self.t.background
        w, h = self.width, self.height
        if isinstance(bg, VideoBackground) and self.background_video is not None:
            if not Path(self.background_video).is_file():
                raise AssetError(f"background video is missing: {self.background_video}")
            src = self.graph.input(
                "-stream_loop", "-1", "-t", num(self.duration), "-i", self.background_video
            )
            chain = (
                f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},fps={FPS},"
                f"settb=1/{FPS},setpts=N,trim=duration={num(self.duration)},format=yuv420p"
            )
            if bg.dim:
                chain += f",drawbox=c=black@{num(bg.dim)}:t=fill"
            stream = self.graph.chain(src, chain)
            decor = Image.new("RGBA", (w, h), (0, 0, 0, 0))
            if self._decorate(decor):
                box = decor.getbbox()
                if box:
                    x0, y0 = box[0] // 2 * 2, box[1] // 2 * 2
                    piece = still(self.graph, self.layer_file(decor.crop((x0, y0, box[2], box[3])), "decor"))
                    stream = self.graph.chain(f"{stream}][{piece}", f"overlay={x0}:{y0}:format=yuv420")
            return stream
        spec = bg.fallback if isinstance(bg, VideoBackground) else bg
        img = layers.background(spec, w, h, self.images[0] if self.images else None)
        if isinstance(bg, VideoBackground) and bg.dim:
            img = Image.blend(img, Image.new("RGB", (w, h), (0, 0, 0)), bg.dim * 0.5)
        canvas = img.convert("RGBA")
        self._decorate(canvas)
        self.bg_canvas = canvas.convert("RGB")
        src = still(self.graph, self.layer_file(self.bg_canvas, "background"), alpha=False)
        return looped(self.graph, src, 1, self.duration)

    def _decorate(self, canvas: Image.Image) -> bool:
        """Shadows and borders of the product box: static, so drawn into the background."""
        drawn = False
        for layer in self._of(ProductImagesLayer):
            x, y, bw, bh = (
                self.s(layer.box.x),
                self.s(layer.box.y),
                even(self.s(layer.box.w)),
                even(self.s(layer.box.h)),
            )
            radius = self.s(layer.corner_radius)
            if layer.shadow:
                layers.card_shadow(canvas, x, y, bw, bh, radius, max(4, self.s(28)))
                drawn = True
            if layer.border_color and layer.border_width:
                bw_ = max(1, self.s(layer.border_width))
                layers.border(canvas, x, y, bw, bh, radius, bw_, layer.border_color)
                drawn = True
        return drawn

    # Layers ------------------------------------------------------------------------------------

    def product_images(self, base: str, layer: ProductImagesLayer) -> str:
        g, d = self.graph, self.duration
        bw, bh = self._box_size(layer)
        sources = self.sources[id(layer)]
        n = len(sources)
        seg = d / n
        trans = min(layer.transition_seconds, seg / 2) if layer.transition != "cut" else 0.0
        plan: list[tuple[float, int, Path]] = []  # start, frames, prepared image
        for k, prepared in enumerate(source.result() for source in sources):
            start = k * seg
            end = min(d, (k + 1) * seg + (trans if k < n - 1 else 0))
            plan.append(
                (start, max(1, math.ceil((end - start) * FPS) + 1), self.layer_file(prepared, f"image{k}"))
            )

        def zoomed(k: int, first: int = 0, count: int | None = None) -> str:
            """Image ``k`` in Ken Burns motion: frames ``first`` to ``first + count`` of its shot."""
            start, frames, path = plan[k]
            src = g.shared_still(path, pix_fmt="yuv420p")
            moving = ken_burns(
                g,
                src,
                motion=layer.motion,
                index=k,
                frames=frames,
                width=bw,
                height=bh,
                first=first,
                count=count,
            )
            return g.chain(moving, f"setpts=PTS-STARTPTS+{num(round(start * FPS) + first)}")

        if n == 1:
            sub = zoomed(0)
        else:
            sub = self._slideshow(layer, [start for start, _, _ in plan], trans, (bw, bh), zoomed)
        x, y = self.s(layer.box.x), self.s(layer.box.y)
        window = Window.of(layer.timing, d)
        radius = min(self.s(layer.corner_radius), bw // 2, bh // 2)
        if not radius or self.bg_canvas is not None:  # rounded corners are patched from a static background
            rest_from = window.start + (layer.enter.duration if layer.enter.kind != "none" else 0.0)
            exit_len = (
                min(layer.exit.duration, window.end - window.start) if layer.exit.kind == "fade" else 0.0
            )
            rest_to = max(rest_from, window.end - exit_len)
            first_alone = seg if n > 1 else d  # the first image is alone until the first slide
            last_alone = (n - 1) * seg + trans if n > 1 else 0.0
            if rest_from <= min(first_alone, rest_to) and rest_to >= last_alone:
                return self._box(
                    base, sub, layer, (x, y, bw, bh, radius), window, (rest_from, rest_to), zoomed
                )
        alpha = False
        if radius:
            mask = layers.rounded_mask(bw, bh, radius)
            mask_src = g.chain(g.input("-i", self.layer_file(mask, "mask")), "format=gray")
            sub = g.chain(f"{g.chain(sub, 'format=yuva420p')}][{mask_src}", "alphamerge")
            alpha = True
        if not alpha and (layer.enter.kind in ("fade", "fade_up") or layer.exit.kind == "fade"):
            sub = g.chain(sub, "format=yuva420p")
        return place(
            g, base, sub, x=x, y=y, window=window, enter=layer.enter, exit=layer.exit, duration=d,
            scale=self.scale, is_stream=True,
        )  # fmt: skip

    def _slideshow(
        self,
        layer: ProductImagesLayer,
        starts: list[float],
        trans: float,
        size: tuple[int, int],
        zoomed: Callable[[int, int, int | None], str],
    ) -> str:
        """The images one after another, each in its Ken Burns motion, sliding in over ``trans`` s.

        Between slides an image's frames go through untouched (concatenated, never blended onto
        a backdrop); only the frames of a slide are composed, from second copies of the two shots.
        """
        g, n = self.graph, len(starts)
        bw, bh = size
        total = round(self.duration * FPS)
        axis_len = bw if layer.transition == "slide_left" else bh
        backdrop = f"color=c=0x{layer.fill_color[1:7]}:s={bw}x{bh}:r={FPS}"
        parts: list[str] = []
        for k, start in enumerate(starts):
            shot_from = round(start * FPS)
            rest_from = round((start + trans) * FPS) if k > 0 else shot_from
            rest_to = round(starts[k + 1] * FPS) if k < n - 1 else total
            if rest_to > rest_from:
                parts.append(zoomed(k, rest_from - shot_from, rest_to - rest_from))
            if k == n - 1 or trans <= 0:
                continue
            frames = round((starts[k + 1] + trans) * FPS) - rest_to
            if frames <= 0:
                continue
            leaving = g.chain(zoomed(k, rest_to - shot_from, frames), "setpts=PTS-STARTPTS")
            coming = g.chain(zoomed(k + 1, 0, frames), "setpts=PTS-STARTPTS")
            slide = ease_in(0, trans)
            composed = g.chain(None, f"{backdrop}:d={num(frames / FPS)},format=yuv420p")
            for stream, pos in ((leaving, f"-{axis_len}*(1-{slide})"), (coming, f"{axis_len}*{slide}")):
                x, y = (pos, "0") if layer.transition == "slide_left" else ("0", pos)
                composed = g.chain(f"{composed}][{stream}", f"overlay=x='{x}':y='{y}':eof_action=pass")
            parts.append(composed)
        joined = "".join(f"[{part}]" for part in parts)
        return g.chain(joined[1:-1], f"concat=n={len(parts)}:v=1:a=0,settb=1/{FPS},setpts=N")

    def _box(
        self,
        base: str,
        sub: str,
        layer: ProductImagesLayer,
        rect: tuple[int, int, int, int, int],
        window: Window,
        rest: tuple[float, float],
        zoomed: Callable[[int, int, int | None], str],
    ) -> str:
        """The product box without an alpha channel while it stands still.

        Blending a box-sized alpha layer on every frame costs about as much as the Ken Burns itself.
        So while the box is at rest it is put in opaque (stacked into the frame, see :meth:`_stacked`),
        and four small patches cut from the static background round its corners; only the frames of
        its enter and exit animations (a second, short Ken Burns copy of the first or last image,
        identical frames) go through an alpha channel, with the rounded mask.
        """
        g, d = self.graph, self.duration
        x, y, bw, bh, radius = rect
        rest_from, rest_to = rest
        n = min(len(self.images), layer.max_images)
        mask = layers.rounded_mask(bw, bh, radius) if radius else None
        mask_path = self.layer_file(mask, "mask") if mask else None
        segments = []
        if rest_from > window.start:
            first = round(window.start * FPS)
            segments.append(
                (0, first, math.ceil((rest_from - window.start) * FPS) + 1, window.start, rest_from)
            )
        if rest_to < window.end:
            start_last = round((n - 1) * d / n * FPS)
            first = round(rest_to * FPS) - start_last
            segments.append((n - 1, first, math.ceil((window.end - rest_to) * FPS) + 1, rest_to, window.end))
        for k, first, count, t0, t1 in segments:
            part = g.chain(zoomed(k, first, count), "format=yuva420p")
            if mask_path:
                part = g.chain(f"{part}][{g.shared_still(mask_path, pix_fmt='gray')}", "alphamerge")
            base = place(
                g, base, part, x=x, y=y, window=window, enter=layer.enter, exit=layer.exit, duration=d,
                scale=self.scale, is_stream=True, enable=f"between(t,{num(t0)},{num(t1)})",
            )  # fmt: skip
        at_rest = f"between(t,{num(rest_from)},{num(rest_to)})"
        inside = 0 <= x <= self.width - bw and 0 <= y <= self.height - bh
        if rest_to >= d and inside and all(v % 2 == 0 for v in (x, y, bw, bh)):
            base = self._stacked(base, sub, (x, y, bw, bh), round(rest_from * FPS))
        else:
            base = g.chain(f"{base}][{sub}", f"overlay=x={x}:y={y}:enable='{at_rest}':format=yuv420")
        if mask is None:
            return base
        assert self.bg_canvas is not None
        inverse = Image.eval(mask, lambda v: 255 - v)
        for cx, cy in ((0, 0), (bw - radius, 0), (0, bh - radius), (bw - radius, bh - radius)):
            patch = self.bg_canvas.crop((x + cx, y + cy, x + cx + radius, y + cy + radius)).convert("RGBA")
            patch.putalpha(inverse.crop((cx, cy, cx + radius, cy + radius)))
            src = still(g, self.layer_file(patch, f"corner{cx}_{cy}"))
            base = g.chain(f"{base}][{src}", f"overlay={x + cx}:{y + cy}:enable='{at_rest}':format=yuv420")
        return base

    def _stacked(self, base: str, box: str, rect: tuple[int, int, int, int], first: int) -> str:
        """``base`` with the opaque ``box`` stream in ``rect`` from frame ``first`` to the end.

        The frame is cut into the bands around the box (crops: no copy) and stacked back with it,
        which copies each pixel once; an overlay would convert every box frame to an alpha format
        and blend each of its pixels (measured: about 5 % of a whole render). The frames before
        ``first`` (the box's enter animation, already drawn into ``base``) pass through.
        """
        g = self.graph
        x, y, bw, bh = rect
        width, height = self.width, self.height
        before = None
        if first > 0:
            before = g.chain(g.tap(base), f"trim=end_frame={first}")
            base = g.chain(g.tap(base), f"trim=start_frame={first}")
            box = g.chain(box, f"trim=start_frame={first}")
        bands = {
            "top": (0, 0, width, y),
            "left": (0, y, x, bh),
            "right": (x + bw, y, width - x - bw, bh),
            "bottom": (0, y + bh, width, height - y - bh),
        }
        cut = {
            name: g.chain(g.tap(base), f"crop={w}:{h}:{cx}:{cy}")
            for name, (cx, cy, w, h) in bands.items()
            if w > 0 and h > 0
        }
        if not cut:
            g.filters.append(f"[{base}]nullsink")  # the box fills the frame
        row = [stream for stream in (cut.get("left"), box, cut.get("right")) if stream]
        middle = g.chain("][".join(row), f"hstack=inputs={len(row)}") if len(row) > 1 else box
        column = [stream for stream in (cut.get("top"), middle, cut.get("bottom")) if stream]
        stacked = g.chain("][".join(column), f"vstack=inputs={len(column)}") if len(column) > 1 else middle
        if before is None:
            return stacked
        return g.chain(f"{before}][{stacked}", f"concat=n=2:v=1:a=0,settb=1/{FPS},setpts=N")

    def _text_card(self, layer: TitleLayer | LabelLayer | CaptionsLayer, text: str) -> Image.Image:
        text = text.upper() if layer.uppercase else text
        pad = self.s(layer.padding) if layer.backdrop else 0
        width = self.s(layer.box.w) - 2 * pad - 2 * self.s(layer.stroke_width)
        font, lines = layers.fit_text(
            text, self.t.fonts[layer.font], self.s(layer.size), max(40, width), layer.max_lines
        )
        return layers.text_card(
            lines,
            font,
            color=layer.color,
            align=layer.align,
            line_spacing=layer.line_spacing,
            stroke_color=layer.stroke_color,
            stroke_width=self.s(layer.stroke_width),
            shadow=layer.shadow,
            backdrop=layer.backdrop,
            radius=self.s(layer.backdrop_radius),
            padding=pad,
        )

    def _in_box(self, card: Image.Image, layer: TitleLayer | LabelLayer | CaptionsLayer) -> tuple[int, int]:
        bx, by, bw, bh = (self.s(v) for v in (layer.box.x, layer.box.y, layer.box.w, layer.box.h))
        if layer.align == "left":
            x = bx
        elif layer.align == "right":
            x = bx + bw - card.width
        else:
            x = bx + (bw - card.width) // 2
        return x, by + (bh - card.height) // 2

    def text(self, base: str, layer: TitleLayer | LabelLayer, name: str) -> str:
        content = (
            (self.params.headline or self.product.title) if isinstance(layer, TitleLayer) else layer.text
        )
        card = self._text_card(layer, content)
        x, y = self._in_box(card, layer)
        src = still(self.graph, self.layer_file(card, name))
        return place(
            self.graph, base, src, x=x, y=y, window=Window.of(layer.timing, self.duration),
            enter=layer.enter, exit=layer.exit, duration=self.duration, scale=self.scale,
        )  # fmt: skip

    def _pulsing(
        self, card: Image.Image, amplitude: float, period: float, beat: float, name: str
    ) -> tuple[str, tuple[int, int]]:
        """A pre-drawn pulse period looped in memory by ffmpeg; the stream and its frame size."""
        frames = layers.pulse_frames(card, amplitude, period, beat, FPS)
        path = self.work / f"{name}.rgba"  # one raw RGBA file: no encoding, no decoding
        self.pending.append(_layer_pool().submit(path.write_bytes, b"".join(f.tobytes() for f in frames)))
        width, height = frames[0].size
        src = self.graph.input(
            "-f", "rawvideo", "-pixel_format", "rgba", "-video_size", f"{width}x{height}",
            "-framerate", str(FPS), "-i", path,
        )  # fmt: skip
        src = self.graph.chain(src, "format=yuva420p")
        return looped(self.graph, src, len(frames), self.duration), frames[0].size

    def price(self, base: str, layer: PriceLayer) -> str:
        text = format_price(self.product.price, self.product.currency)
        if not text or not self.params.show_price:
            return base
        font = layers.load_font(self.t.fonts[layer.font], self.s(layer.size))
        backdrop = (self.params.accent_color or layer.backdrop) if layer.backdrop else None
        card = layers.text_card(
            [text], font, color=layer.color, backdrop=backdrop, radius=self.s(layer.backdrop_radius),
            padding=self.s(layer.padding), shadow=layer.shadow,
        )  # fmt: skip
        if layer.pulse and layer.pulse.amplitude > 0:
            pulse = layer.pulse
            src, (w, h) = self._pulsing(card, pulse.amplitude, pulse.period, pulse.beat, "price")
            stream = True
        else:
            src = still(self.graph, self.layer_file(card, "price"))
            w, h = card.size
            stream = False
        return place(
            self.graph, base, src, x=self.s(layer.center.x) - w // 2, y=self.s(layer.center.y) - h // 2,
            window=Window.of(layer.timing, self.duration), enter=layer.enter, exit=layer.exit,
            duration=self.duration, scale=self.scale, is_stream=stream,
        )  # fmt: skip

    def cta(self, base: str, layer: CtaLayer) -> str:
        text = self.params.cta_text or layer.text
        text = text.upper() if layer.uppercase else text
        font = layers.load_font(self.t.fonts[layer.font], self.s(layer.size))
        backdrop = (self.params.accent_color or layer.backdrop) if layer.backdrop else None
        card = layers.text_card(
            [text], font, color=layer.color, backdrop=backdrop, radius=self.s(layer.backdrop_radius),
            padding=self.s(layer.padding), shadow=layer.shadow, suffix_arrow=layer.arrow,
        )  # fmt: skip
        window = Window.of(layer.timing, self.duration)
        extra_y = ""
        stream = False
        w, h = card.size
        if layer.animation == "pulse" and layer.amplitude > 0:
            amp = min(0.3, layer.amplitude / 100)
            src, (w, h) = self._pulsing(card, amp, layer.period, 0.5, "cta")
            stream = True
        else:
            src = still(self.graph, self.layer_file(card, "cta"))
            if layer.animation == "bounce" and layer.amplitude > 0:
                start = window.start + layer.enter.duration
                hop = f"abs(sin(PI*(t-{num(start)})/{num(layer.period)}))"
                extra_y = f"-{num(self.s(layer.amplitude))}*gte(t,{num(start)})*{hop}"
        enter = layer.enter
        if layer.animation == "slide_up" and enter.kind == "none":
            enter = Enter(kind="slide_up", duration=0.6, distance=240)
        return place(
            self.graph, base, src, x=self.s(layer.center.x) - w // 2, y=self.s(layer.center.y) - h // 2,
            window=window, enter=enter, exit=layer.exit, duration=self.duration, scale=self.scale,
            is_stream=stream, extra_y=extra_y,
        )  # fmt: skip

    def logo(self, base: str, layer: LogoLayer) -> str:
        if self.product.logo is None:
            return base
        img = layers.logo(
            layers.open_image(Path(self.product.logo), "logo"), self.s(layer.width), layer.opacity
        )
        m = self.s(layer.margin)
        x = m if layer.corner.endswith("left") else self.width - m - img.width
        y = m if layer.corner.startswith("top") else self.height - m - img.height
        src = still(self.graph, self.layer_file(img, "logo"))
        return self.graph.chain(f"{base}][{src}", f"overlay={x}:{y}:format=yuv420")

    def captions_layer(self, base: str, layer: CaptionsLayer) -> str:
        window = Window.of(layer.timing, self.duration)
        for i, line in enumerate(_caption_lines(self.captions, window.start, self.duration)[:60]):
            card = self._text_card(layer, line.text)
            x, y = self._in_box(card, layer)
            src = still(self.graph, self.layer_file(card, f"caption{i}"))
            base = place(
                self.graph, base, src, x=x, y=y, window=Window(line.start, min(self.duration, line.end)),
                enter=Enter(kind="none"), exit=Exit(), duration=self.duration, scale=self.scale,
            )  # fmt: skip
        return base

    def video(self) -> str:
        base = self.base()
        for i, layer in enumerate(self.t.layers):
            if isinstance(layer, ProductImagesLayer):
                base = self.product_images(base, layer)
            elif isinstance(layer, TitleLayer | LabelLayer):
                base = self.text(base, layer, f"text{i}")
            elif isinstance(layer, PriceLayer):
                base = self.price(base, layer)
            elif isinstance(layer, CtaLayer):
                base = self.cta(base, layer)
            elif isinstance(layer, LogoLayer):
                base = self.logo(base, layer)
            elif isinstance(layer, CaptionsLayer):
                base = self.captions_layer(base, layer)
        tl, d = self.t.timeline, self.duration
        fades = []
        if tl.fade_in:
            fades.append(f"fade=t=in:st=0:d={num(min(tl.fade_in, d / 4))}:color=0x{tl.fade_color[1:7]}")
        if tl.fade_out:
            fo = min(tl.fade_out, d / 4)
            fades.append(f"fade=t=out:st={num(d - fo)}:d={num(fo)}:color=0x{tl.fade_color[1:7]}")
        # limited range pinned: the thumbnail JPEG split off it must not pull the video to full range
        return self.graph.chain(base, ",".join([*fades, "format=pix_fmts=yuv420p:color_ranges=tv"]))

    def audio(self, g: Graph, music: Path | None, voice: Path | None) -> str:
        """The soundtrack in its own graph ``g``: music at its volume with fades, the voiceover
        ducking it, or silence; trimmed or padded to the video's length."""
        d, a = self.duration, self.t.audio
        fmt = "aresample=44100,aformat=sample_fmts=fltp:sample_rates=44100:channel_layouts=stereo"
        music_stream = voice_stream = None
        volume = self.params.music_volume if self.params.music_volume is not None else a.music_volume
        if music is not None:
            if not Path(music).is_file():
                raise AssetError(f"music is missing: {music}")
            src = g.audio_input("-stream_loop", "-1", "-i", music)
            fo = min(a.fade_out, d / 3)
            music_stream = g.chain(
                src,
                f"{fmt},atrim=0:{num(d)},asetpts=N/SR/TB,volume={num(volume)},"
                f"afade=t=in:st=0:d={num(min(a.fade_in, d / 3))},afade=t=out:st={num(d - fo)}:d={num(fo)}",
                "a",
            )
        if voice is not None:
            if not Path(voice).is_file():
                raise AssetError(f"voiceover is missing: {voice}")
            src = g.audio_input("-i", voice)
            voice_stream = g.chain(src, f"{fmt},volume={num(a.voice_volume)},apad,atrim=0:{num(d)}", "a")
        if music_stream and voice_stream:
            side = g.label("a")
            mix = g.label("a")
            g.filters.append(f"[{voice_stream}]asplit=2[{side}][{mix}]")
            ducked = g.chain(
                f"{music_stream}][{side}",
                f"sidechaincompress=threshold=0.02:ratio={num(a.duck_ratio)}:attack=20:release=400:makeup=1",
                "a",
            )
            out = g.chain(f"{ducked}][{mix}", "amix=inputs=2:duration=first:normalize=0", "a")
        elif music_stream or voice_stream:
            out = music_stream or voice_stream
        else:
            out = g.chain(None, f"anullsrc=r=44100:cl=stereo,atrim=0:{num(d)}", "a")
        assert out is not None
        return g.chain(out, f"{fmt},apad,atrim=0:{num(d)}", "a")


def render(
    template: Template,
    product: Product,
    params: RenderParams | dict[str, Any] | None,
    duration: float,
    out_dir: Path,
    *,
    size: Size = "1080x1920",
    caption_lines: Sequence[str | CaptionLine] | None = None,
    music: Path | None = None,
    voice: Path | None = None,
    background_video: Path | None = None,
    preview: bool = False,
    animated_preview: bool | None = None,
    progress: ProgressCallback | None = None,
    work_dir: Path | None = None,
) -> RenderResult:
    """Render ``product`` with ``template`` into ``out_dir``/video.mp4, thumbnail.jpg, metadata.json
    and, with ``animated_preview`` (the default for all but ``preview`` renders), preview.mp4.

    ``duration`` must follow the template's rules (6-60 s), except for ``preview`` renders (1 s and
    up, for the API's 3-second preview clips and tests). Raises :class:`RenderError` subclasses:
    AssetError (a missing or unreadable image, logo, music, voice), DurationError, EncoderError.
    """
    started = time.perf_counter()
    if size not in SIZES:
        raise RenderError(f"size must be one of {', '.join(SIZES)}")
    rules = template.duration
    low = MIN_PREVIEW_SECONDS if preview else rules.min
    if not (low <= duration <= min(rules.max, MAX_SECONDS)):
        raise DurationError(f"duration must be between {low:g} and {rules.max:g} seconds, not {duration:g}")
    duration = round(duration * FPS) / FPS
    if not isinstance(params, RenderParams):
        params = parse_params(params)
    with_clip = not preview if animated_preview is None else animated_preview

    def report(pct: float) -> None:
        if progress is not None:
            progress(pct)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="clicktok-render-", dir=work_dir))
    timings: dict[str, float] = {}
    r: _Renderer | None = None
    audio_job: Future[None] | None = None
    try:
        r = _Renderer(template, product, params, duration, size, work, caption_lines, background_video)
        m4a = work / "audio.m4a"
        audio_job = _start_soundtrack(r, music, voice, m4a)
        r.load_images()
        video = r.video()
        thumb_at = thumbnail_time(template, duration)
        clip_at, clip_seconds = clip_window(thumb_at, duration)
        keyframes = sorted({t for t in (thumb_at, clip_at if with_clip else 0.0) if t > 0})
        clip = work / "preview.mp4"
        thumb = work / "thumbnail.jpg"
        # the thumbnail and the preview are further outputs of the same encode: their frames are
        # the composed ones, so no 1080x1920 frame is decoded again to make them
        video, thumb_stream, clip_stream = _split_outputs(
            r.graph, video, round(thumb_at * FPS), (clip_at, clip_seconds) if with_clip else None
        )
        side_outputs = [
            "-map", f"[{thumb_stream}]", "-an", "-sn", "-dn", "-map_metadata", "-1",
            "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "3", "-update", "1", str(thumb),
        ]  # fmt: skip
        if clip_stream:
            side_outputs += [
                "-map", f"[{clip_stream}]", "-an", "-sn", "-dn", "-map_metadata", "-1",
                "-r", str(FPS), "-frames:v", str(round(clip_seconds * FPS)),
                *ffmpeg.clip_encoder_args(CLIP_CRF), "-movflags", "+faststart", str(clip),
            ]  # fmt: skip
        script = work / "graph.txt"
        script.write_text(r.graph.script())
        r.written()
        timings["prepare"] = time.perf_counter() - started
        report(3.0)
        silent, mp4 = work / "silent.mp4", work / "video.mp4"
        encode_started = time.perf_counter()
        ffmpeg.run(
            [
                *r.graph.input_args(),
                "-/filter_complex", str(script),
                "-filter_complex_threads", str(ffmpeg.filter_threads()),
                "-map", f"[{video}]", "-an",
                *ffmpeg.video_encoder_args(keyframes_at=[t - 0.5 / FPS for t in keyframes]),
                "-t", num(duration), str(silent),
                *side_outputs,
            ],
            duration=duration,
            progress=(lambda pct: report(3.0 + pct * 0.94)) if progress else None,
            cwd=work,
        )  # fmt: skip
        timings["encode"] = time.perf_counter() - encode_started
        audio_job.result()
        ffmpeg.run(
            [
                "-i", str(silent), "-i", str(m4a), "-map", "0:v", "-map", "1:a", "-c", "copy",
                "-t", num(duration), "-movflags", "+faststart", str(mp4),
            ],
            cwd=work,
        )  # fmt: skip
        if not thumb.is_file():
            raise RenderError("the thumbnail could not be made")
        final_video, final_thumb = out_dir / "video.mp4", out_dir / "thumbnail.jpg"
        final_clip = None
        if with_clip:
            if not clip.is_file():
                raise RenderError("the animated preview could not be made")
            final_clip = out_dir / "preview.mp4"
            shutil.move(clip, final_clip)
        shutil.move(mp4, final_video)
        shutil.move(thumb, final_thumb)
    finally:
        with suppress(Exception):  # the render's own error is the one to raise
            # nothing may still be writing into the folder removed next
            if audio_job is not None:
                audio_job.exception()
            if r is not None:
                r.written()
        shutil.rmtree(work, ignore_errors=True)
    timings["total"] = time.perf_counter() - started
    width, height = SIZES[size]
    metadata: dict[str, Any] = {
        "template": template.id,
        "template_version": template.version,
        "duration": duration,
        "frames": round(duration * FPS),
        "fps": FPS,
        "width": width,
        "height": height,
        "size": size,
        "bytes": final_video.stat().st_size,
        "thumbnail_at": thumb_at,
        "thumbnail_bytes": final_thumb.stat().st_size,
        "audio": {"music": music is not None, "voice": voice is not None},
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
    if final_clip is not None:
        metadata.update(
            preview_at=clip_at,
            preview_duration=clip_seconds,
            preview_size="{}x{}".format(*CLIP_SIZE),
            preview_bytes=final_clip.stat().st_size,
        )
    (out_dir / "metadata.json").write_text(json.dumps(metadata, indent=2))
    report(100.0)
    return RenderResult(video=final_video, thumbnail=final_thumb, metadata=metadata, preview=final_clip)


def _start_soundtrack(r: _Renderer, music: Path | None, voice: Path | None, out: Path) -> Future[None]:
    """Mix and encode the soundtrack into ``out`` (AAC in MP4) with its own ffmpeg, in the background.

    It starts before the layers are drawn, so it runs while one core is idle (Pillow's drawing,
    the video encoder's start-up) instead of inside the video encode; a stream copy muxes it in.
    """
    graph = Graph()
    stream = r.audio(graph, music, voice)
    script = out.with_suffix(".txt")
    script.write_text(graph.script())
    return _audio_pool().submit(
        ffmpeg.run,
        [
            *graph.input_args(), "-/filter_complex", str(script), "-map", f"[{stream}]",
            *ffmpeg.AUDIO_ENCODER_ARGS, "-t", num(r.duration), str(out),
        ],
        cwd=out.parent,
    )  # fmt: skip


def _at(value: float, duration: float) -> float:
    return min(duration, max(0.0, duration + value if value < 0 else value))


def thumbnail_time(template: Template, duration: float) -> float:
    """The template's thumbnail time, kept out of the opening and closing fades, on a frame."""
    tl = template.timeline
    at = _at(tl.thumbnail_at, duration)
    fade_out = min(tl.fade_out, duration / 4)
    at = min(at, duration - fade_out - 2 / FPS, duration * 0.75)
    at = max(at, min(tl.fade_in, duration / 4) + 1 / FPS)
    frame = min(round(duration * FPS) - 1, max(0, round(at * FPS)))
    return frame / FPS


def extract_thumbnail(video: Path, out: Path, at: float) -> None:
    """The frame at ``at`` seconds as a JPEG (one frame decoded: a keyframe is forced there)."""
    # Half a frame early, so the frame at ``at`` is the first one after the seek point; render()
    # forced a keyframe there, so decoding keyframes only reaches it without decoding its GOP.
    seek = max(0.0, at - 0.5 / FPS)
    ffmpeg.run(
        [
            "-skip_frame", "nokey", "-ss", f"{seek:.4f}", "-i", str(video),
            "-an", "-frames:v", "1", "-q:v", "3", "-update", "1", str(out),
        ]
    )  # fmt: skip
    if not out.is_file():
        raise RenderError("the thumbnail could not be extracted")


def clip_window(thumb_at: float, duration: float) -> tuple[float, float]:
    """Where the animated preview starts (the thumbnail's frame, unless too near the end) and its length."""
    seconds = min(CLIP_SECONDS, duration)
    last_start = math.floor(round((duration - seconds) * FPS, 6)) / FPS
    return min(thumb_at, last_start), seconds


def _split_outputs(
    graph: Graph, video: str, thumb_frame: int, clip: tuple[float, float] | None
) -> tuple[str, str, str | None]:
    """Split the composed ``video`` stream into itself, the thumbnail's frame and, given its start
    and length, the animated preview's stream."""
    labels = [graph.label() for _ in range(3 if clip else 2)]
    graph.filters.append(f"[{video}]split={len(labels)}" + "".join(f"[{label}]" for label in labels))
    main, thumb_branch = labels[0], labels[1]
    thumb = graph.chain(
        thumb_branch, f"trim=start_frame={thumb_frame}:end_frame={thumb_frame + 1},setpts=PTS-STARTPTS"
    )
    if clip is None:
        return main, thumb, None
    width, height = CLIP_SIZE
    at, seconds = clip
    clip_stream = graph.chain(
        labels[2],
        f"trim=start={num(at)}:duration={num(seconds)},setpts=PTS-STARTPTS,scale={width}:{height}:flags=area",
    )
    return main, thumb, clip_stream


def result_dict(result: RenderResult) -> dict[str, Any]:
    return {
        **asdict(result),
        "video": str(result.video),
        "thumbnail": str(result.thumbnail),
        "preview": str(result.preview) if result.preview else None,
    }
