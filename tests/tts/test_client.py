"""``chalicelib.integrations.tts`` against the sandbox: both providers, a bad key, retries, no secret."""

from __future__ import annotations

import io
import wave
from typing import Any

import pytest

from chalicelib.integrations import tts
from local.sandboxes.tts import TtsSandbox
from tests.tts.conftest import BASE, KEY


def _config(provider: str, key: str = KEY) -> tts.TtsConfig:
    return tts.parse_config({"provider": provider, "api_key": key, "base_url": BASE + "/"})


def _seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as audio:
        return audio.getnframes() / audio.getframerate()


def test_openai_speech_is_a_wav_of_the_text(sandbox: TtsSandbox) -> None:
    data = tts.synthesize("Meet the glow serum, now half price", config=_config("openai"), voice="nova")
    assert data is not None and tts.audio_suffix(data) == ".wav"
    assert 1.5 < _seconds(data) < 2.5
    (call,) = sandbox.calls()
    assert call["provider"] == "openai" and call["path"] == "/v1/audio/speech"
    assert call["status"] == 200 and call["voice"] == "nova"


def test_elevenlabs_speech_uses_the_voice_id_and_xi_api_key(sandbox: TtsSandbox) -> None:
    data = tts.synthesize("Hello there", config=_config("elevenlabs"))
    assert data is not None and len(data) > 1000
    (call,) = sandbox.calls()
    assert call["path"] == f"/v1/text-to-speech/{tts.DEFAULT_VOICES['elevenlabs']}"
    assert call["status"] == 200 and "output_format=mp3_44100_128" in call["query"]


@pytest.mark.parametrize("provider", ["openai", "elevenlabs"])
def test_a_wrong_key_is_an_auth_error_without_retries(sandbox: TtsSandbox, provider: str) -> None:
    with pytest.raises(tts.TtsAuthError) as caught:
        tts.synthesize("Hi", config=_config(provider, key="wrong"), sleep=lambda _s: None)
    assert caught.value.status == 401 and not caught.value.retryable
    assert len(sandbox.calls()) == 1


def test_server_errors_and_rate_limits_are_retried_with_backoff(sandbox: TtsSandbox) -> None:
    naps: list[float] = []
    sandbox.fail_next(500, 1)
    sandbox.fail_next(429, 1)
    data = tts.synthesize("Hi", config=_config("openai"), sleep=naps.append)
    assert data is not None and [c["status"] for c in sandbox.calls()] == [500, 429, 200]
    assert naps == [0.5, 1.0]

    sandbox.fail_next(503, tts.ATTEMPTS)
    with pytest.raises(tts.TtsUnavailable) as caught:
        tts.synthesize("Hi", config=_config("openai"), sleep=naps.append)
    assert caught.value.status == 503 and caught.value.retryable


def test_a_bad_request_and_a_bad_config_are_typed_errors(sandbox: TtsSandbox) -> None:
    with pytest.raises(tts.TtsRequestError) as caught:
        tts.synthesize("Hi", config=_config("openai"), voice="nobody")
    assert caught.value.status == 400
    with pytest.raises(tts.TtsConfigError):
        tts.parse_config({"provider": "polly", "api_key": "x"})
    with pytest.raises(tts.TtsConfigError):
        tts.synthesize("   ", config=_config("openai"))
    with pytest.raises(tts.TtsConfigError):
        tts.synthesize("Hi", config=_config("openai"), provider="elevenlabs")
    assert "sk-test-key" not in repr(_config("openai"))


def test_without_the_secret_there_is_no_speech_and_with_it_the_secret_is_used(
    cloud: Any, sandbox: TtsSandbox
) -> None:
    from chalicelib.integrations.aws.secrets import write_secret

    assert tts.configured() is None and tts.synthesize("Hi") is None
    write_secret(tts.SECRET_PATH, {"provider": "elevenlabs", "api_key": KEY, "base_url": BASE})
    assert tts.synthesize("Hi", provider="elevenlabs") is not None
    assert sandbox.calls()[0]["provider"] == "elevenlabs"
