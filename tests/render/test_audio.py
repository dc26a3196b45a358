"""The audio mix: music at the template's volume, ducked under a voiceover, silence without either."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from chalicelib.render import ffmpeg
from chalicelib.render.compose import Graph
from chalicelib.render.pipeline import _Renderer
from chalicelib.render.template import RenderParams, load_builtin

RATE = 44_100


def tone(path: Path, seconds: float, amplitude: float, hz: float = 1000.0) -> Path:
    t = np.arange(int(RATE * seconds)) / RATE
    samples = amplitude * np.sin(2 * np.pi * hz * t)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


def mix(product, tmp_path: Path, name: str, music: Path | None, voice: Path | None) -> np.ndarray:
    work = tmp_path / name
    work.mkdir()
    renderer = _Renderer(load_builtin("modern"), product, RenderParams(), 3.0, "720x1280", work, None, None)
    graph = Graph()
    out = renderer.audio(graph, music, voice)
    raw = work / "mix.f32"
    ffmpeg.run(
        [*graph.input_args(), "-filter_complex", graph.script(), "-map", f"[{out}]", "-f", "f32le", str(raw)]
    )
    return np.fromfile(raw, "<f4").reshape(-1, 2)


def band_rms(samples: np.ndarray, low: float, high: float) -> float:
    mono = samples.mean(axis=1)[RATE : 2 * RATE]  # the middle second, clear of the fades
    spectrum = np.abs(np.fft.rfft(mono))
    freqs = np.fft.rfftfreq(mono.size, 1 / RATE)
    return float(np.sqrt(np.mean(spectrum[(freqs >= low) & (freqs < high)] ** 2)))


def test_voice_ducks_the_music(product, music_track, tmp_path):
    alone = mix(product, tmp_path, "alone", music_track, tone(tmp_path / "quiet.wav", 3, 0.0))
    ducked = mix(product, tmp_path, "ducked", music_track, tone(tmp_path / "voice.wav", 3, 0.8))
    assert alone.shape == ducked.shape == (3 * RATE, 2)
    music_band = (40.0, 600.0)  # bass, kick and chords; the voice is a 1 kHz tone
    assert band_rms(ducked, *music_band) < 0.5 * band_rms(alone, *music_band)
    assert band_rms(ducked, 990, 1010) > 10 * band_rms(alone, 990, 1010)


def test_no_music_no_voice_is_stereo_silence(product, tmp_path):
    silence = mix(product, tmp_path, "silence", None, None)
    assert silence.shape == (3 * RATE, 2)
    assert np.abs(silence).max() == 0
