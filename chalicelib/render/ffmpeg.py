"""The ffmpeg that imageio-ffmpeg ships: running it with progress, and probing what it wrote."""

from __future__ import annotations

import os
import re
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from chalicelib.render.errors import EncoderError

Progress = Callable[[float], None]

# One encoder setting for production and the benchmark's floor.
X264_PRESET = "veryfast"
X264_CRF = "21"


@cache
def ffmpeg_exe() -> str:
    override = os.environ.get("CLICKTOK_FFMPEG")
    if override:
        return override
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def filter_threads() -> int:
    """Threads for the composing filter graph: half the cores, as the encoder runs beside it
    with all of them (on 2 cores a second filter thread only fights x264: measured 0.5 s slower
    on the default template's 15 s)."""
    return max(1, threads() // 2)


def video_encoder_args(*, keyframes_at: Sequence[float] = ()) -> list[str]:
    """H.264 High, yuv420p, 30 fps, the production preset, threads = cores."""
    args = [
        "-c:v", "libx264", "-preset", X264_PRESET, "-crf", X264_CRF, "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-r", "30", "-threads", str(threads()),
    ]  # fmt: skip
    if keyframes_at:
        args += ["-force_key_frames", ",".join(f"{t:.3f}" for t in keyframes_at)]
    return args


def clip_encoder_args(crf: str) -> list[str]:
    """H.264 High, yuv420p for a short, small clip beside the main encode: one thread, so its
    handful of frames never take a core from the main encoder's threads."""
    return [
        "-c:v", "libx264", "-preset", X264_PRESET, "-crf", crf, "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-threads", "1",
    ]  # fmt: skip


AUDIO_ENCODER_ARGS = ["-c:a", "aac", "-b:a", "128k", "-ar", "44100", "-ac", "2"]


def run(
    args: Sequence[str],
    *,
    duration: float | None = None,
    progress: Progress | None = None,
    cwd: Path | None = None,
    timeout: float = 840.0,
) -> None:
    """Run ffmpeg; report percent done from ``-progress pipe:1``; EncoderError with its last words."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error"]
    if progress is not None:
        cmd += ["-progress", "pipe:1", "-nostats"]
    cmd += list(args)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(  # noqa: S603 - fixed executable, arguments we built
            cmd, stdout=subprocess.PIPE if progress else subprocess.DEVNULL, stderr=err, cwd=cwd
        )
        deadline = time.monotonic() + timeout
        try:
            if progress is not None and proc.stdout is not None:
                last = -1.0
                for raw in proc.stdout:
                    key, _, value = raw.decode("ascii", "replace").strip().partition("=")
                    if key == "out_time_us" and duration and value.isdigit():
                        pct = min(99.0, 100.0 * int(value) / 1e6 / duration)
                        if pct - last >= 1.0:
                            last = pct
                            progress(round(pct, 1))
                    if time.monotonic() > deadline:
                        proc.kill()
                        break
            code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise EncoderError(f"ffmpeg took longer than {timeout:.0f} s") from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if code != 0:
            err.seek(0)
            tail = err.read().decode("utf-8", "replace").strip().splitlines()[-6:]
            raise EncoderError("ffmpeg failed: " + (" | ".join(tail) or f"exit code {code}"))
    if progress is not None:
        progress(100.0)


# Probing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    duration: float
    video_codec: str
    profile: str
    pix_fmt: str
    width: int
    height: int
    fps: float
    audio_codec: str | None
    sample_rate: int | None
    channels: str | None
    faststart: bool
    boxes: tuple[str, ...]


_VIDEO = re.compile(
    r"Stream #\d+:\d+.*?: Video: (?P<codec>\w+) \((?P<profile>[^)]+)\).*?, (?P<pix>yuv\w+)[(,].*?"
    r"(?P<w>\d{2,5})x(?P<h>\d{2,5}).*?(?P<fps>[\d.]+) fps"
)
_AUDIO = re.compile(r"Stream #\d+:\d+.*?: Audio: (?P<codec>\w+).*?, (?P<rate>\d+) Hz, (?P<ch>[\w.()]+)")
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+\.\d+)")


def top_level_boxes(path: Path) -> tuple[str, ...]:
    """The MP4's top-level box types in file order (``moov`` before ``mdat`` means faststart)."""
    boxes: list[str] = []
    with path.open("rb") as f:
        size_total = path.stat().st_size
        pos = 0
        while pos + 8 <= size_total:
            f.seek(pos)
            size, kind = struct.unpack(">I4s", f.read(8))
            if size == 1:
                size = struct.unpack(">Q", f.read(8))[0]
            elif size == 0:
                size = size_total - pos
            boxes.append(kind.decode("latin-1"))
            if size < 8:
                break
            pos += size
    return tuple(boxes)


def probe(path: Path) -> Probe:
    """What ``ffmpeg -i`` says about a file (ffprobe is not shipped), plus its box order."""
    out = subprocess.run(  # noqa: S603
        [ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True, check=False
    ).stderr
    d = _DURATION.search(out)
    v = _VIDEO.search(out)
    a = _AUDIO.search(out)
    if not d or not v:
        raise EncoderError(f"cannot probe {path.name}: {out.strip().splitlines()[-1:]}")
    boxes = top_level_boxes(path)
    return Probe(
        duration=int(d[1]) * 3600 + int(d[2]) * 60 + float(d[3]),
        video_codec=v["codec"],
        profile=v["profile"],
        pix_fmt=v["pix"],
        width=int(v["w"]),
        height=int(v["h"]),
        fps=float(v["fps"]),
        audio_codec=a["codec"] if a else None,
        sample_rate=int(a["rate"]) if a else None,
        channels=a["ch"] if a else None,
        faststart="moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat"),
        boxes=boxes,
    )


def count_frames(path: Path) -> tuple[int, float]:
    """Decoded video frames and seconds (imageio-ffmpeg's own counter)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.count_frames_and_secs(str(path))
