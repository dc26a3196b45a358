"""Background music generated procedurally (numpy → WAV): nothing fetched, nothing licensed.

Each style is a seamless loop of eight bars (chords, bass, and for ``upbeat``/``pulse`` a beat);
ffmpeg loops it to the video's length. The renderer image generates the tracks at build time
(``python -m chalicelib.render.music /opt/clicktok/music``); elsewhere they are made on first use
into a cache folder.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import wave
from pathlib import Path

import numpy as np

RATE = 44_100
STYLES: dict[str, dict[str, float | list[list[int]] | bool]] = {
    # MIDI notes of four chords (I-V-vi-IV in C, ii-V-I-vi in F, i-VI-III-VII in A minor).
    "upbeat": {"bpm": 120, "drums": True, "chords": [[60, 64, 67], [55, 59, 62], [57, 60, 64], [53, 57, 60]]},
    "chill": {"bpm": 84, "drums": False, "chords": [[55, 58, 62], [60, 64, 67], [53, 57, 60], [50, 53, 57]]},
    "pulse": {"bpm": 124, "drums": True, "chords": [[57, 60, 64], [53, 57, 60], [48, 52, 55], [55, 59, 62]]},
}


def _hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def synthesize(style: str) -> np.ndarray:
    """Eight bars of ``style`` as float32 stereo samples in [-1, 1]."""
    spec = STYLES[style]
    bpm = float(spec["bpm"])  # type: ignore[arg-type]
    chords: list[list[int]] = spec["chords"]  # type: ignore[assignment]
    beat = 60.0 / bpm
    bars = 8
    n = round(bars * 4 * beat * RATE)
    t = np.arange(n, dtype=np.float64) / RATE
    left = np.zeros(n)
    right = np.zeros(n)
    bar_len = 4 * beat
    rng = np.random.default_rng(7)
    for bar in range(bars):
        chord = chords[bar % len(chords)]
        start, end = round(bar * bar_len * RATE), round((bar + 1) * bar_len * RATE)
        tt = t[start:end] - t[start]
        env = np.minimum(1.0, tt / 0.25) * np.minimum(1.0, (bar_len - tt) / 0.4)
        for k, note in enumerate(chord):
            f = _hz(note)
            tone = np.sin(2 * np.pi * f * tt) + 0.3 * np.sin(2 * np.pi * 2 * f * tt + 0.5)
            tone += 0.15 * np.sin(2 * np.pi * f * 1.003 * tt)
            pan = 0.35 + 0.15 * k
            left[start:end] += 0.09 * env * tone * (1 - pan)
            right[start:end] += 0.09 * env * tone * pan
        # Bass on every beat, an octave below the root.
        for b in range(4):
            bs = start + round(b * beat * RATE)
            be = min(end, bs + round(beat * 0.9 * RATE))
            bt = t[bs:be] - t[bs]
            f = _hz(chord[0] - 12)
            bass = np.sin(2 * np.pi * f * bt) * np.exp(-bt * 3.0) * np.minimum(1.0, bt / 0.01)
            left[bs:be] += 0.22 * bass
            right[bs:be] += 0.22 * bass
    if spec["drums"]:
        steps = bars * 4 * 2
        for s in range(steps):
            at = round(s * beat / 2 * RATE)
            if s % 2 == 0:  # kick on the beat
                m = min(n - at, round(0.25 * RATE))
                kt = np.arange(m) / RATE
                kick = np.sin(2 * np.pi * (50 + 90 * np.exp(-kt * 30)) * kt) * np.exp(-kt * 9)
                left[at : at + m] += 0.45 * kick
                right[at : at + m] += 0.45 * kick
            if s % 4 == 2:  # a clap on two and four
                m = min(n - at, round(0.18 * RATE))
                ct = np.arange(m) / RATE
                clap = rng.standard_normal(m) * np.exp(-ct * 22)
                left[at : at + m] += 0.10 * clap
                right[at : at + m] += 0.10 * clap
            m = min(n - at, round(0.05 * RATE))  # hi-hat on every eighth
            ht = np.arange(m) / RATE
            hat = np.diff(rng.standard_normal(m + 1)) * np.exp(-ht * 60)
            left[at : at + m] += 0.035 * hat
            right[at : at + m] += 0.045 * hat
    stereo = np.stack([left, right], axis=1)
    peak = float(np.max(np.abs(stereo))) or 1.0
    return (stereo / peak * 0.8).astype(np.float32)


def write_wav(samples: np.ndarray, path: Path) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    tmp = path.with_suffix(".part")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    tmp.replace(path)


def music_dir() -> Path:
    return Path(os.environ.get("CLICKTOK_MUSIC_DIR") or Path(tempfile.gettempdir()) / "clicktok-music")


def track(style: str = "upbeat", folder: Path | None = None) -> Path:
    """The WAV of ``style``, generated on first use (about a second) and kept in ``folder``."""
    if style not in STYLES:
        raise KeyError(style)
    folder = folder or music_dir()
    path = folder / f"{style}.wav"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        write_wav(synthesize(style), path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate the renderer's music tracks (a build step).")
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    for style in STYLES:
        print(track(style, args.folder))


if __name__ == "__main__":
    main()
