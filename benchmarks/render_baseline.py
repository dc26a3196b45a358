"""The naive baseline: the default template's scene composed frame by frame with moviepy 2.

Same canvas, duration, product images with Ken Burns zoom and slide-ins, title, pulsing price,
bouncing call to action, logo, captions and music, encoded with the same x264 preset and threads.
This is how the scene is written with moviepy's composition API alone; ``benchmarks/render.py``
times it against the ffmpeg filter-graph pipeline.

    .venv/bin/python benchmarks/render_baseline.py --duration 15
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def render_baseline(
    out: Path, duration: float, assets: Path, *, size: tuple[int, int] = (1080, 1920)
) -> float:
    import numpy as np
    from moviepy import AudioFileClip, ColorClip, CompositeVideoClip, ImageClip, TextClip, afx, vfx
    from PIL import Image

    from chalicelib.render import layers, music
    from chalicelib.render.ffmpeg import X264_CRF, X264_PRESET, threads
    from chalicelib.render.fonts import font_file
    from chalicelib.render.pipeline import format_price
    from chalicelib.render.samples import sample_product
    from chalicelib.render.template import GradientBackground, load_builtin

    started = time.perf_counter()
    w, h = size
    product = sample_product(assets)
    template = load_builtin("modern")
    bg_spec = template.background
    assert isinstance(bg_spec, GradientBackground)
    font = str(font_file("Montserrat"))
    d = duration

    background = ImageClip(np.asarray(layers.background(bg_spec, w, h, None))).with_duration(d)

    # Product images: Ken Burns zoom inside a box, sliding in one after another.
    bx, by, bw, bh = 90, 300, 900, 1000
    n = len(product.images)
    seg, trans = d / n, 0.5
    slides = []
    for k, path in enumerate(product.images):
        img = layers.cover(Image.open(path).convert("RGB"), bw, bh)
        start = k * seg
        length = seg + (trans if k < n - 1 else 0)

        def zoom(t: float, length: float = length) -> float:
            return 1.0 + 0.18 * t / length

        def pos(t: float, k: int = k, start: float = start) -> tuple[float, float]:
            x = 0.0
            if k > 0:
                x += bw * (1 - min(1.0, t / trans)) ** 3
            if k < n - 1 and t > seg:
                x -= bw * (1 - (1 - min(1.0, (t - seg) / trans)) ** 3)
            return x, 0.0

        clip = (
            ImageClip(np.asarray(img))
            .with_duration(length)
            .resized(zoom)
            .with_position(pos)
            .with_start(start)
        )
        slides.append(clip)
    box = CompositeVideoClip(slides, size=(bw, bh)).with_duration(d).with_position((bx, by))

    title = (
        TextClip(font=font, text=product.title, font_size=76, color="white", size=(920, None),
                 method="caption", text_align="center")
        .with_duration(d - 0.5).with_start(0.5).with_position(("center", 1360))
        .with_effects([vfx.CrossFadeIn(0.6)])
    )  # fmt: skip
    price_clip = TextClip(
        font=font, text=format_price(product.price, product.currency), font_size=92, color="white",
        bg_color="#ff2d55", margin=(26, 26),
    )  # fmt: skip

    def pulse(t: float) -> float:
        phase = (t % 1.2) / 1.2
        return 1 + 0.08 * math.sin(math.pi * phase / 0.35) if phase < 0.35 else 1.0

    pw, ph = price_clip.size
    price = (
        price_clip.with_duration(d - 1).with_start(1.0).resized(pulse)
        .with_position(lambda t: (540 - pw * pulse(t) / 2, 1630 - ph * pulse(t) / 2))
    )  # fmt: skip
    cta_clip = TextClip(font=font, text="Shop now ▸", font_size=58, color="#111111", bg_color="white",
                        margin=(28, 28))  # fmt: skip
    cw, ch = cta_clip.size
    cta_start = max(0.0, d - 5)
    cta = (
        cta_clip.with_duration(d - cta_start).with_start(cta_start)
        .with_position(lambda t: (540 - cw / 2, 1800 - ch / 2 - 18 * abs(math.sin(math.pi * t / 0.8))))
        .with_effects([vfx.CrossFadeIn(0.5)])
    )  # fmt: skip
    logo = (
        ImageClip(np.asarray(Image.open(product.logo).convert("RGBA").resize((150, 60))))  # type: ignore[arg-type]
        .with_duration(d).with_position((w - 56 - 150, 56))
    )  # fmt: skip
    captions = []
    lines = ["Crystal clear sound", "Forty hours of battery", "Free shipping today"]
    each = (d - 0.8) / len(lines)
    for i, text in enumerate(lines):
        cap = TextClip(font=font, text=text, font_size=48, color="white", bg_color="#000000", margin=(18, 18))
        captions.append(cap.with_start(0.6 + i * each).with_duration(each).with_position(("center", 1180)))
    fade = ColorClip((w, h), color=(0, 0, 0)).with_duration(0.5).with_start(d - 0.5)
    video = CompositeVideoClip([background, box, title, price, cta, logo, *captions, fade], size=(w, h))
    audio = (
        AudioFileClip(str(music.track("upbeat")))
        .with_effects([afx.AudioLoop(duration=d), afx.MultiplyVolume(0.35), afx.AudioFadeIn(1.0),
                       afx.AudioFadeOut(1.5)])
    )  # fmt: skip
    video = video.with_duration(d).with_audio(audio)
    video.write_videofile(
        str(out), fps=30, codec="libx264", preset=X264_PRESET, threads=threads(), audio_codec="aac",
        audio_fps=44100, ffmpeg_params=["-crf", X264_CRF, "-profile:v", "high", "-pix_fmt", "yuv420p",
                                        "-movflags", "+faststart"],
        logger=None,
    )  # fmt: skip
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seconds = render_baseline(Path(tmp) / "baseline.mp4", args.duration, Path(tmp) / "assets")
    print(
        json.dumps({"benchmark": "render_baseline", "duration": args.duration, "seconds": round(seconds, 2)})
    )


if __name__ == "__main__":
    main()
