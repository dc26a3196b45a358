"""Render the default template (15 s, 1080x1920, 30 fps) against the encoder's floor and moviepy.

From one run, one JSON line:

- ``seconds``: wall time of ``render()`` (Pillow layers; the soundtrack's own ffmpeg; the ffmpeg
  filter graph and encode, whose further outputs are the thumbnail and the animated preview; the
  final mux), with music.
- ``floor_seconds``: ffmpeg encoding the very frames of that rendered video, decoded beforehand to
  raw YUV (not timed), with the same x264 preset, CRF, profile and threads: the encoder's own work.
- ``vs_floor``: the median, over the runs, of each render's time over the floor timed right after it.
- ``cpu_seconds`` / ``floor_cpu_seconds``: the CPU time (user + system, this process and its
  ffmpeg children) of the same render and floor: where the wall time goes on a busy machine.
- ``baseline_seconds``: the same scene composed naively with moviepy 2 (``render_baseline.py``).
- ``peak_mb``: peak RSS of the render, this process plus its largest ffmpeg child
  (``getrusage`` self + children, measured before the floor and baseline run).
- ``thumbnail_seconds``: extracting the thumbnail frame from a finished MP4 (the render itself
  writes it from its encode, with a keyframe forced there for such seeks).
- ``preview_bytes``: the animated preview (3 muted seconds, 360x640 H.264) that ``render()`` makes
  as an output of its encode (its cost is inside ``seconds``).

Render and floor run ``--repeat`` times, alternating. ``seconds`` and ``floor_seconds`` are the
medians and ``vs_floor`` pairs each render with its floor (``runs`` has them all): on a shared 2-core
machine a neighbour's burst slows a render and the floor next to it alike, so pairs cancel it where
the best of each would compare two different moments.

    .venv/bin/python benchmarks/render.py [--duration 15] [--no-baseline] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def cpu_seconds() -> float:
    """User + system time so far of this process and the children it waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def floor(video: Path, work: Path, duration: float) -> tuple[float, float]:
    """Encode the decoded frames of ``video`` with the production encoder settings; wall and CPU s."""
    from chalicelib.render import ffmpeg

    raw = work / "frames.yuv"
    ffmpeg.run(["-i", str(video), "-map", "0:v", "-f", "rawvideo", "-pix_fmt", "yuv420p", str(raw)])
    out = work / "floor.mp4"
    cpu_started, started = cpu_seconds(), time.perf_counter()
    ffmpeg.run(
        [
            "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "1080x1920", "-framerate", "30", "-i", str(raw),
            *ffmpeg.video_encoder_args(), "-t", str(duration), "-movflags", "+faststart", str(out),
        ]
    )  # fmt: skip
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    raw.unlink()
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description="Renderer benchmark")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--no-baseline", action="store_true", help="skip the (slow) moviepy baseline")
    parser.add_argument("--repeat", type=int, default=5, help="renders, each followed by its floor")
    args = parser.parse_args()

    from chalicelib.render import music
    from chalicelib.render.pipeline import extract_thumbnail, render
    from chalicelib.render.samples import sample_product
    from chalicelib.render.template import DEFAULT_TEMPLATE, load_builtin

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        product = sample_product(work / "assets")
        track = music.track("upbeat", work / "music")
        template = load_builtin(DEFAULT_TEMPLATE)
        captions = ["Crystal clear sound", "Forty hours of battery", "Free shipping today"]

        renders, floors, thumbs, render_cpu, floor_cpu = [], [], [], [], []
        for i in range(args.repeat):
            # Render and floor alternate, so a busy neighbour on a shared machine slows both alike.
            cpu_started, started = cpu_seconds(), time.perf_counter()
            result = render(
                template, product, {}, args.duration, work / f"out{i}", caption_lines=captions, music=track
            )
            renders.append(time.perf_counter() - started)
            render_cpu.append(cpu_seconds() - cpu_started)
            if i == 0:
                own, children = rss_mb()
            thumb_started = time.perf_counter()
            extract_thumbnail(result.video, work / "thumb.jpg", result.metadata["thumbnail_at"])
            thumbs.append(time.perf_counter() - thumb_started)
            floor_wall, floor_cpu_seconds = floor(result.video, work, args.duration)
            floors.append(floor_wall)
            floor_cpu.append(floor_cpu_seconds)
        seconds, floor_seconds, thumbnail_seconds = median(renders), median(floors), median(thumbs)
        vs_floor = median([r / f for r, f in zip(renders, floors, strict=True)])
        baseline_seconds = None
        if not args.no_baseline:
            from benchmarks.render_baseline import render_baseline

            baseline_seconds = render_baseline(work / "baseline.mp4", args.duration, work / "assets")

    figures = {
        "benchmark": "render",
        "template": template.id,
        "duration": args.duration,
        "size": "1080x1920",
        "seconds": round(seconds, 2),
        "floor_seconds": round(floor_seconds, 2),
        "baseline_seconds": round(baseline_seconds, 2) if baseline_seconds else None,
        "peak_mb": round(own + children, 1),
        "peak_self_mb": round(own, 1),
        "peak_ffmpeg_mb": round(children, 1),
        "thumbnail_seconds": round(thumbnail_seconds, 3),
        "preview_bytes": result.metadata["preview_bytes"],
        "vs_floor": round(vs_floor, 2),
        "cpu_seconds": round(median(render_cpu), 2),
        "floor_cpu_seconds": round(median(floor_cpu), 2),
        "speedup_vs_baseline": round(baseline_seconds / seconds, 1) if baseline_seconds else None,
        "runs": {
            "seconds": [round(v, 2) for v in renders],
            "floor_seconds": [round(v, 2) for v in floors],
            "vs_floor": [round(r / f, 2) for r, f in zip(renders, floors, strict=True)],
        },
        "prepare_seconds": result.metadata["timings"]["prepare"],
        "encode_seconds": result.metadata["timings"]["encode"],
        "goals": {
            "vs_floor": 1.4,
            "speedup_vs_baseline": 5,
            "peak_mb": 1024,
            "thumbnail_seconds": 0.5,
        },
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
