"""Rendering: every template renders to a platform-ready MP4 with a real-frame thumbnail.

Short 720x1280 previews keep this fast; one 1080x1920 render checks the full size with voice.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from chalicelib.render.errors import AssetError, DurationError
from chalicelib.render.ffmpeg import count_frames, ffmpeg_exe, probe
from chalicelib.render.pipeline import CaptionLine, RenderResult, format_price, render
from chalicelib.render.template import builtin_template_ids, load_builtin
from tests.render.conftest import decode_frame

CAPTIONS = ["Crystal clear sound", "Forty hours of battery"]


def check_mp4(path: Path, width: int, height: int, seconds: float) -> None:
    info = probe(path)
    assert info.video_codec == "h264" and info.profile == "High"
    assert info.pix_fmt == "yuv420p"
    assert (info.width, info.height) == (width, height)
    assert info.fps == 30
    assert info.audio_codec == "aac" and info.sample_rate == 44100 and info.channels == "stereo"
    assert abs(info.duration - seconds) < 0.05, info.duration
    assert info.faststart, info.boxes
    frames, _ = count_frames(path)
    assert frames == round(seconds * 30)


def check_thumbnail(result: RenderResult, width: int, height: int) -> None:
    thumb = np.asarray(Image.open(result.thumbnail).convert("RGB"), dtype=np.float32)
    assert thumb.shape == (height, width, 3)
    index = round(result.metadata["thumbnail_at"] * 30)
    same = decode_frame(result.video, index, width, height).astype(np.float32)
    other = decode_frame(result.video, 0, width, height).astype(np.float32)
    assert np.abs(thumb - same).mean() < 3.0
    assert np.abs(thumb - other).mean() > 3 * np.abs(thumb - same).mean()
    assert thumb.std() > 10  # not a blank frame


@pytest.mark.parametrize("template_id", builtin_template_ids())
def test_every_template_renders_a_preview(template_id, product, music_track, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    result = render(
        load_builtin(template_id), product, {"cta_text": "Buy now"}, 2.0, tmp_path / "out",
        size="720x1280", caption_lines=CAPTIONS, music=music_track, preview=True, work_dir=work,
    )  # fmt: skip
    check_mp4(result.video, 720, 1280, 2.0)
    check_thumbnail(result, 720, 1280)
    meta = json.loads((tmp_path / "out" / "metadata.json").read_text())
    assert meta == result.metadata
    assert meta["duration"] == 2.0 and meta["size"] == "720x1280" and meta["template"] == template_id
    assert set(meta["timings"]) == {"prepare", "encode", "total"}
    assert list(work.iterdir()) == []  # the temporary folder is cleaned up


def test_full_size_with_voice_ducking_music(product, music_track, voice_track, tmp_path):
    seen: list[float] = []
    result = render(
        load_builtin("modern"), product, None, 2.0, tmp_path, caption_lines=[CaptionLine("Hi", 0.2, 1.5)],
        music=music_track, voice=voice_track, preview=True, progress=seen.append,
    )  # fmt: skip
    check_mp4(result.video, 1080, 1920, 2.0)
    check_thumbnail(result, 1080, 1920)
    assert result.metadata["audio"] == {"music": True, "voice": True}
    assert seen == sorted(seen) and seen[-1] == 100.0 and len(seen) >= 3


def test_broken_image_fails_with_a_clear_reason(product, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    work = tmp_path / "work"
    work.mkdir()
    bad = replace(product, images=(product.images[0], broken))
    with pytest.raises(AssetError) as exc:
        render(
            load_builtin("modern"),
            bad,
            {},
            2.0,
            tmp_path / "out",
            size="720x1280",
            preview=True,
            work_dir=work,
        )
    assert "product image 2" in exc.value.message and "broken.jpg" in exc.value.message
    assert exc.value.reason == "bad_asset"
    assert list(work.iterdir()) == []

    missing = replace(product, images=(tmp_path / "gone.jpg",))
    with pytest.raises(AssetError, match="product image 1 is missing"):
        render(load_builtin("minimal"), missing, {}, 2.0, tmp_path / "out", size="720x1280", preview=True)

    with pytest.raises(AssetError, match="no images"):
        render(load_builtin("minimal"), replace(product, images=()), {}, 2.0, tmp_path, preview=True)

    with pytest.raises(AssetError, match="logo"):
        bad_logo = replace(product, logo=broken)
        render(load_builtin("minimal"), bad_logo, {}, 2.0, tmp_path, size="720x1280", preview=True)


def test_duration_follows_the_template_rules(product, tmp_path):
    with pytest.raises(DurationError, match="between 6 and 60"):
        render(load_builtin("modern"), product, {}, 3.0, tmp_path)
    with pytest.raises(DurationError):
        render(load_builtin("modern"), product, {}, 61.0, tmp_path, preview=True)


def test_price_formats():
    assert format_price("49.9", "USD") == "$49.90"
    assert format_price(1999, "JPY") == "¥1,999"
    assert format_price("12.5", "EUR") == "12.50 €"
    assert format_price("1234.5", "PLN") == "PLN 1,234.50"
    assert format_price(None, "USD") == ""


def test_background_video_loops_under_the_layers(product, tmp_path):
    clip = tmp_path / "bg.mp4"
    subprocess.run(
        [
            ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=24:d=1",
            "-pix_fmt", "yuv420p", str(clip),
        ],
        check=True,
    )  # fmt: skip
    result = render(
        load_builtin("flash_sale"), product, {"accent_color": "#00aa55"}, 2.0, tmp_path / "out",
        size="720x1280", background_video=clip, preview=True,
    )  # fmt: skip
    check_mp4(result.video, 720, 1280, 2.0)
    with pytest.raises(AssetError, match="background video"):
        render(
            load_builtin("flash_sale"), product, {}, 2.0, tmp_path, size="720x1280",
            background_video=tmp_path / "nope.mp4", preview=True,
        )  # fmt: skip


def test_a_full_render_has_an_animated_preview_cut_from_the_video(product, music_track, tmp_path):
    from chalicelib.render.pipeline import clip_window, thumbnail_time

    template = load_builtin("modern")
    assert clip_window(thumbnail_time(template, 15.0), 15.0) == (2.5, 3.0)  # from the thumbnail on
    # 4 seconds: the clip starts early enough to last 3 (and a keyframe is forced there too)
    result = render(
        template, product, {}, 4.0, tmp_path / "out", size="720x1280", caption_lines=CAPTIONS,
        music=music_track, preview=True, animated_preview=True,
    )  # fmt: skip
    assert result.preview == tmp_path / "out" / "preview.mp4" and result.preview.is_file()
    info = probe(result.preview)
    assert (info.video_codec, info.profile, info.pix_fmt) == ("h264", "High", "yuv420p")
    assert (info.width, info.height, info.fps) == (360, 640, 30)
    assert info.audio_codec is None and info.faststart, info
    assert abs(info.duration - 3.0) < 0.05 and count_frames(result.preview)[0] == 90
    meta = result.metadata
    assert (meta["preview_at"], meta["preview_duration"], meta["preview_size"]) == (1.0, 3.0, "360x640")
    assert meta["preview_bytes"] == result.preview.stat().st_size
    # its first frame is the video's frame at preview_at, scaled down
    first = decode_frame(result.preview, 0, 360, 640).astype(np.float32)
    source = Image.fromarray(decode_frame(result.video, 30, 720, 1280)).resize((360, 640), Image.BOX)
    other = Image.fromarray(decode_frame(result.video, 110, 720, 1280)).resize((360, 640), Image.BOX)
    same_error = np.abs(first - np.asarray(source, dtype=np.float32)).mean()
    assert same_error < 4.0 and np.abs(first - np.asarray(other, dtype=np.float32)).mean() > 2 * same_error

    # template previews (preview=True) have none unless asked
    plain = render(template, product, {}, 2.0, tmp_path / "plain", size="720x1280", preview=True)
    assert plain.preview is None and "preview_bytes" not in plain.metadata
    assert not (tmp_path / "plain" / "preview.mp4").exists()


@pytest.mark.parametrize(
    ("rect", "first"),
    [((60, 200, 600, 666), 12), ((0, 100, 720, 400), 0), ((100, 0, 620, 1280), 5), ((0, 0, 720, 1280), 0)],
)
def test_a_box_stacked_into_the_frame_is_the_box_overlaid(product, tmp_path, rect, first):
    """The opaque product box is put into the frame by cutting bands and stacking them, not by an
    overlay; the frames must be the overlay's, wherever the box sits, before and after ``first``."""
    from chalicelib.render.pipeline import _Renderer
    from chalicelib.render.template import RenderParams

    x, y, w, h = rect
    r = _Renderer(load_builtin("modern"), product, RenderParams(), 2.0, "720x1280", tmp_path, None, None)
    g = r.graph
    base = g.chain(None, "testsrc2=s=720x1280:r=30:d=2,format=yuv420p")
    box = g.chain(None, f"testsrc=s={w}x{h}:r=30:d=2,format=yuv420p")
    bases, boxes = [g.tap(base), g.tap(base)], [g.tap(box), g.tap(box)]
    stacked = r._stacked(bases[0], boxes[0], rect, first)
    overlaid = g.chain(f"{bases[1]}][{boxes[1]}", f"overlay={x}:{y}:enable='gte(n,{first})':format=yuv420")
    raws = [tmp_path / "stacked.yuv", tmp_path / "overlaid.yuv"]
    out_args = [
        arg
        for stream, raw in zip((stacked, overlaid), raws, strict=True)
        for arg in (
            "-map",
            f"[{stream}]",
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "yuv420p",
            raw,
        )
    ]
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-filter_complex", g.script(), *map(str, out_args)], check=True
    )
    outputs = [np.fromfile(raw, np.uint8).reshape(-1, 1280 * 3 // 2, 720) for raw in raws]
    assert outputs[0].shape == outputs[1].shape == (60, 1920, 720)
    assert np.abs(outputs[0].astype(int) - outputs[1].astype(int)).max() <= 1
