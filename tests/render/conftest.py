"""Shared assets for the renderer tests: a sample product, music, a voice, decoded frames."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from chalicelib.render.ffmpeg import ffmpeg_exe
from chalicelib.render.samples import sample_product


@pytest.fixture(scope="session")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("render-assets")


@pytest.fixture(scope="session")
def product(assets: Path):
    return sample_product(assets / "product")


@pytest.fixture(scope="session")
def music_track(assets: Path) -> Path:
    from chalicelib.render.music import track

    return track("upbeat", assets / "music")


@pytest.fixture(scope="session")
def voice_track(assets: Path) -> Path:
    """Two seconds of speech-like tone bursts, mono 22.05 kHz (the mixer must resample and upmix)."""
    rate = 22_050
    t = np.arange(int(rate * 2.0)) / rate
    envelope = (np.sin(2 * np.pi * 3 * t) > 0).astype(float)
    samples = 0.5 * np.sin(2 * np.pi * 220 * t) * envelope
    path = assets / "voice.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


def decode_frame(video: Path, index: int, width: int, height: int) -> np.ndarray:
    """Frame ``index`` of ``video`` as RGB, decoded by selecting it (no seeking)."""
    raw = subprocess.run(
        [
            ffmpeg_exe(), "-v", "error", "-i", str(video), "-vf", f"select=eq(n\\,{index})",
            "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)
