"""One ffmpeg filter graph for the whole video.

Inputs are the static layers Pillow drew (single PNG frames, held by ``overlay``'s repeat-last, or
looped in memory by the ``loop`` filter) and the product images; motion is expressed as time
expressions (a per-frame ``scale`` and ``crop`` for Ken Burns, ``overlay`` x/y for slides and
bounces, ``fade`` for alpha), so ffmpeg composes and encodes in one pass with no raw frames crossing
a pipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from chalicelib.render.template import Enter, Exit, KenBurns, Timing

FPS = 30


def num(value: float) -> str:
    """A number for an ffmpeg expression."""
    return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def ease_in(start: float, length: float) -> str:
    """1 → 0 as t goes from ``start`` to ``start + length`` (ease-out cubic of the remainder)."""
    return f"pow(1-clip((t-{num(start)})/{num(length)},0,1),3)"


@dataclass
class Graph:
    inputs: list[list[str]] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)
    _count: int = 0
    _taps: dict[str, list[str]] = field(default_factory=dict)  # a stream -> the labels reading it
    _decoded: dict[tuple[Path, str], str] = field(default_factory=dict)  # (image, format) -> stream

    def input(self, *args: str | Path) -> str:
        self.inputs.append([str(a) for a in args])
        return f"{len(self.inputs) - 1}:v"

    def audio_input(self, *args: str | Path) -> str:
        self.inputs.append([str(a) for a in args])
        return f"{len(self.inputs) - 1}:a"

    def label(self, prefix: str = "v") -> str:
        self._count += 1
        return f"{prefix}{self._count}"

    def chain(self, src: str | None, filters: str, prefix: str = "v") -> str:
        out = self.label(prefix)
        self.filters.append(f"{f'[{src}]' if src else ''}{filters}[{out}]")
        return out

    def tap(self, stream: str) -> str:
        """One more reader of ``stream``: every tap gets the same frames (a ``split`` at the end)."""
        label = self.label()
        self._taps.setdefault(stream, []).append(label)
        return label

    def shared_still(self, png: Path, *, pix_fmt: str) -> str:
        """A still image read several times: decoded once, in ``pix_fmt``, then split."""
        key = (Path(png), pix_fmt)
        if key not in self._decoded:
            self._decoded[key] = self.chain(self.input("-i", png), f"format={pix_fmt}")
        return self.tap(self._decoded[key])

    def script(self) -> str:
        splits = [
            f"[{stream}]split={len(labels)}{''.join(f'[{label}]' for label in labels)}"
            if len(labels) > 1
            else f"[{stream}]null[{labels[0]}]"
            for stream, labels in self._taps.items()
        ]
        return ";\n".join([*self.filters, *splits])

    def input_args(self) -> list[str]:
        return [arg for spec in self.inputs for arg in spec]


@dataclass(frozen=True)
class Window:
    start: float
    end: float

    @classmethod
    def of(cls, timing: Timing, duration: float) -> Window:
        def at(value: float) -> float:
            return min(duration, max(0.0, duration + value if value < 0 else value))

        start = at(timing.start)
        end = duration if timing.end is None else at(timing.end)
        if end <= start:  # a short preview: keep the layer on screen from its start to the end
            start, end = min(start, max(0.0, duration - 0.5)), duration
        return cls(start, end)


def still(graph: Graph, png: Path, *, alpha: bool = True) -> str:
    """A single PNG frame, converted once to the composition's pixel format."""
    src = graph.input("-i", png)
    return graph.chain(src, f"format={'yuva420p' if alpha else 'yuv420p'}")


def looped(graph: Graph, src: str, frames: int, duration: float) -> str:
    """Repeat the first ``frames`` frames of ``src`` in memory for ``duration`` seconds at 30 fps."""
    return graph.chain(
        src, f"loop=loop=-1:size={frames}:start=0,settb=1/{FPS},setpts=N,trim=duration={num(duration)}"
    )


def place(
    graph: Graph,
    base: str,
    layer: str,
    *,
    x: float,
    y: float,
    window: Window,
    enter: Enter,
    exit: Exit,
    duration: float,
    scale: float,
    is_stream: bool = False,
    extra_y: str = "",
    enable: str | None = None,
) -> str:
    """Overlay ``layer`` at (x, y) during ``window`` with its enter and exit animations."""
    fade_in = enter.kind in ("fade", "fade_up")
    fade_out = exit.kind == "fade"
    if fade_in or fade_out:
        if not is_stream:
            layer = looped(graph, layer, 1, duration)
        fades = []
        if fade_in:
            fades.append(f"fade=t=in:st={num(window.start)}:d={num(enter.duration)}:alpha=1")
        if fade_out:
            d = min(exit.duration, window.end - window.start)
            fades.append(f"fade=t=out:st={num(window.end - d)}:d={num(d)}:alpha=1")
        layer = graph.chain(layer, ",".join(fades))
    dist = enter.distance * scale
    slide = ease_in(window.start, enter.duration)
    x_expr, y_expr = num(round(x)), num(round(y))
    if enter.kind in ("slide_up", "fade_up"):
        y_expr = f"{num(round(y))}+{num(dist)}*{slide}"
    elif enter.kind == "slide_down":
        y_expr = f"{num(round(y))}-{num(dist)}*{slide}"
    elif enter.kind == "slide_left":
        x_expr = f"{num(round(x))}+{num(dist)}*{slide}"
    elif enter.kind == "slide_right":
        x_expr = f"{num(round(x))}-{num(dist)}*{slide}"
    if extra_y:
        y_expr = f"{y_expr}{extra_y}"
    enable = enable or f"between(t,{num(window.start)},{num(window.end)})"
    return graph.chain(
        f"{base}][{layer}",
        f"overlay=x='{x_expr}':y='{y_expr}':enable='{enable}':format=yuv420:eof_action=repeat",
    )


def _ken_burns_path(motion: KenBurns, index: int) -> tuple[float, float, float, float, float, float]:
    """Zoom from and to, and the pan's start and end (fractions of the free room) of image ``index``."""
    pans = {"none": (0.5, 0.5, 0.5, 0.5), "left": (0.8, 0.5, 0.2, 0.5), "right": (0.2, 0.5, 0.8, 0.5),
            "up": (0.5, 0.8, 0.5, 0.2), "down": (0.5, 0.2, 0.5, 0.8)}  # fmt: skip
    pan = motion.pan
    if pan == "alternate":
        pan = ("right", "left", "down", "up")[index % 4]
    x0, y0, x1, y1 = pans[pan]
    z0, z1 = motion.zoom_from, motion.zoom_to
    if index % 2 == 1 and motion.pan == "alternate":
        z0, z1 = z1, z0  # zoom out on every other image
    if pan != "none":  # panning needs room: never fully zoomed out while moving
        z0, z1 = max(z0, 1.08), max(z1, 1.08)
    return z0, z1, x0, y0, x1, y1


def ken_burns_source_scale(motion: KenBurns) -> float:
    """How much larger than its box a Ken Burns image is prepared: its deepest zoom, so every frame
    is scaled down (or 1:1) from it and stays sharp."""
    return max(max(_ken_burns_path(motion, index)[:2]) for index in (0, 1))


def ken_burns(
    graph: Graph,
    src: str,
    *,
    motion: KenBurns,
    index: int,
    frames: int,
    width: int,
    height: int,
    first: int = 0,
    count: int | None = None,
) -> str:
    """Zoom and pan one still over a shot of ``frames`` frames.

    Each frame scales the still to the zoomed size (bilinear, from a source prepared at
    :func:`ken_burns_source_scale`) and crops the box out of it at the pan's position, to the pixel.
    Unlike ``zoompan``, which crops the source on even pixels and resamples bicubic, the motion
    follows its path to within a pixel at every frame, and it costs about a third less.

    ``first`` and ``count`` select a part of the shot: the same frames, for a second copy of it.
    """
    z0, z1, x0, y0, x1, y1 = _ken_burns_path(motion, index)
    last = max(1, frames - 1)
    p = f"((n+{first})/{last})" if first else f"(n/{last})"
    z = f"({num(z0)}+{num(z1 - z0)}*{p})"
    zoomed_w, zoomed_h = f"round({width}*{z})", f"round({height}*{z})"
    x = f"round(({zoomed_w}-{width})*({num(x0)}+{num(x1 - x0)}*{p}))"
    y = f"round(({zoomed_h}-{height})*({num(y0)}+{num(y1 - y0)}*{p}))"
    d = frames if count is None else max(1, count)
    # crop's iw/ih keep the first frame's size, so the position is computed from the zoom itself
    return graph.chain(
        src,
        f"loop=loop={d - 1}:size=1:start=0,settb=1/{FPS},setpts=N,"
        f"scale=w='{zoomed_w}':h='{zoomed_h}':eval=frame:flags=bilinear,"
        f"crop={width}:{height}:x='{x}':y='{y}':exact=1",
    )
