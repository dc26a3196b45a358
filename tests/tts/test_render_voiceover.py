"""A render job with a voiceover: speech from the TTS sandbox mixed into the MP4; a TTS failure only notes."""

from __future__ import annotations

import subprocess
from typing import Any

from chalicelib.integrations import tts
from local.sandboxes.tts import TtsSandbox
from tests.tts.conftest import BASE, KEY


def test_a_voiceover_is_synthesized_and_mixed_into_the_video(
    api, team, product, render_queue, cloud, sandbox: TtsSandbox, monkeypatch, tmp_path
) -> None:
    from chalicelib.integrations.aws.clients import client
    from chalicelib.integrations.aws.secrets import write_secret
    from chalicelib.render import pipeline
    from chalicelib.render.ffmpeg import ffmpeg_exe

    write_secret(tts.SECRET_PATH, {"provider": "openai", "api_key": KEY, "base_url": BASE})
    voices: list[Any] = []
    real = pipeline.render

    def spying(*args: Any, **kwargs: Any) -> Any:
        voices.append(kwargs.get("voice"))
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "render", spying)
    body = {
        "product_id": product["product_id"],
        "template_id": "minimal",
        "duration": 6,
        "caption_text": "Glow all day\nHalf price",
        "voiceover": "auto",
        "music": "none",
    }
    video_id = api.post("/videos", key=team.editor, json_body=body).body["video_id"]
    assert render_queue.deliver() == {"batchItemFailures": []}
    job = api.get(f"/videos/{video_id}", key=team.viewer).body
    assert job["status"] == "ready" and job["notes"] == [], job
    (call,) = sandbox.calls()
    assert call["status"] == 200 and call["chars"] == len("Glow all day Half price")
    assert voices and voices[0] is not None and voices[0].suffix == ".wav"

    mp4 = tmp_path / "got.mp4"
    key = f"videos/{job['render_key']}.mp4"
    mp4.write_bytes(client("s3").get_object(Bucket=cloud.bucket("media"), Key=key)["Body"].read())
    probe = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(mp4)], capture_output=True, text=True)
    assert "720x1280" in probe.stderr and "Audio: aac" in probe.stderr, probe.stderr
    loud = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(mp4), "-af", "volumedetect", "-f", "null", "-"],
        capture_output=True,
        text=True,
    ).stderr
    max_volume = float(loud.split("max_volume:")[1].split("dB")[0])
    assert max_volume > -30, loud  # the voice is there (the music is off)

    # the provider down: the video still renders, without voice, and the job says why
    sandbox.fail_next(500, tts.ATTEMPTS)
    monkeypatch.setattr(tts, "BACKOFF_SECONDS", 0.0)
    again = api.post("/videos", key=team.editor, json_body={**body, "voiceover": "Other words"}).body
    assert render_queue.deliver() == {"batchItemFailures": []}
    failed = api.get(f"/videos/{again['video_id']}", key=team.viewer).body
    assert failed["status"] == "ready" and "text to speech failed" in failed["notes"][0], failed
