"""``chalicelib.integrations.tts`` against the sandbox: OpenAI through the ``openai`` package, ElevenLabs
over httpx, a bad key, bounded retries, no secret."""

from __future__ import annotations

import io
import sys
import wave
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from chalicelib.integrations import tts
from local.sandboxes.tts import TtsSandbox, create_app
from tests.tts.conftest import BASE, KEY


def _config(provider: str, key: str = KEY, base: str = BASE + "/") -> tts.TtsConfig:
    return tts.parse_config({"provider": provider, "api_key": key, "base_url": base})


def _seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as audio:
        return audio.getnframes() / audio.getframerate()


def test_openai_speech_goes_through_the_openai_package(sandbox: TtsSandbox) -> None:
    import openai

    data = tts.synthesize("Meet the glow serum, now half price", config=_config("openai"), voice="nova")
    assert data is not None and tts.audio_suffix(data) == ".wav"
    assert 1.5 < _seconds(data) < 2.5
    (call,) = sandbox.calls()
    assert call["provider"] == "openai" and call["path"] == "/v1/audio/speech"
    assert call["status"] == 200 and call["voice"] == "nova"
    assert call["user_agent"] == f"OpenAI/Python {openai.__version__}"  # the official client sent it


def test_an_openai_base_url_that_already_ends_in_v1_is_not_doubled(sandbox: TtsSandbox) -> None:
    assert tts.synthesize("Hi", config=_config("openai", base=BASE + "/v1/")) is not None
    assert sandbox.calls()[0]["path"] == "/v1/audio/speech"


def test_elevenlabs_speech_uses_the_voice_id_and_xi_api_key(sandbox: TtsSandbox) -> None:
    data = tts.synthesize("Hello there", config=_config("elevenlabs"))
    assert data is not None and len(data) > 1000
    (call,) = sandbox.calls()
    assert call["path"] == f"/v1/text-to-speech/{tts.DEFAULT_VOICES['elevenlabs']}"
    assert call["status"] == 200 and "output_format=mp3_44100_128" in call["query"]
    assert call["user_agent"].startswith("python-httpx/")


@pytest.mark.parametrize("provider", ["openai", "elevenlabs"])
@pytest.mark.parametrize("wrong", ["wrong", "sk-proj-WRONGkey0123456789abcd"])
def test_a_wrong_key_is_an_auth_error_without_retries_nor_the_key(
    sandbox: TtsSandbox, provider: str, wrong: str
) -> None:
    with pytest.raises(tts.TtsAuthError) as caught:
        tts.synthesize("Hi", config=_config(provider, key=wrong), sleep=lambda _s: None)
    assert caught.value.status == 401 and not caught.value.retryable
    assert len(sandbox.calls()) == 1
    message = str(caught.value)
    assert "refused (401)" in message
    assert wrong not in message and wrong[-4:] not in message and KEY not in message, message
    error = caught.value  # no chained openai exception (with the response) rides along in a traceback
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_server_errors_and_rate_limits_are_retried_with_backoff(sandbox: TtsSandbox) -> None:
    naps: list[float] = []
    sandbox.fail_next(500, 1)
    sandbox.fail_next(429, 1)
    data = tts.synthesize("Hi", config=_config("openai"), sleep=naps.append)
    assert data is not None and [c["status"] for c in sandbox.calls()] == [500, 429, 200]
    assert naps == [0.5, 1.0]


def test_a_rate_limit_then_success_honours_retry_after(sandbox: TtsSandbox) -> None:
    naps: list[float] = []
    sandbox.fail_next(429, 1, retry_after=3)
    assert tts.synthesize("Hi", config=_config("openai"), sleep=naps.append) is not None
    assert [c["status"] for c in sandbox.calls()] == [429, 200] and naps == [3.0]

    sandbox.fail_next(429, 1, retry_after=3600)  # capped
    assert tts.synthesize("Hi", config=_config("openai"), sleep=naps.append) is not None
    assert naps == [3.0, tts.MAX_RETRY_AFTER_SECONDS]


@pytest.mark.parametrize("provider", ["openai", "elevenlabs"])
def test_retries_are_bounded_then_unavailable(sandbox: TtsSandbox, provider: str) -> None:
    naps: list[float] = []
    sandbox.fail_next(503, tts.ATTEMPTS + 2)
    with pytest.raises(tts.TtsUnavailable) as caught:
        tts.synthesize("Hi", config=_config(provider), sleep=naps.append)
    assert caught.value.status == 503 and caught.value.retryable
    assert "answered 503" in caught.value.message
    assert len(sandbox.calls()) == tts.ATTEMPTS  # the openai client's own retries are off
    assert naps == [0.5, 1.0, 2.0]


class _Down(httpx.BaseTransport):
    def __init__(self) -> None:
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def down() -> Iterator[_Down]:
    transport = _Down()
    tts.use_transport(transport)
    try:
        yield transport
    finally:
        tts.use_transport(None)


@pytest.mark.parametrize("provider", ["openai", "elevenlabs"])
def test_network_failures_are_retried_then_unavailable(down: _Down, provider: str) -> None:
    with pytest.raises(tts.TtsUnavailable) as caught:
        tts.synthesize("Hi", config=_config(provider), sleep=lambda _s: None)
    assert "ConnectError" in caught.value.message and caught.value.status is None
    assert down.requests == tts.ATTEMPTS and KEY not in caught.value.message


def test_a_bad_request_and_a_bad_config_are_typed_errors(sandbox: TtsSandbox) -> None:
    with pytest.raises(tts.TtsRequestError) as caught:
        tts.synthesize("Hi", config=_config("openai"), voice="nobody")
    assert caught.value.status == 400 and "voice: one of" in caught.value.message
    assert len(sandbox.calls()) == 1
    with pytest.raises(tts.TtsConfigError):
        tts.parse_config({"provider": "polly", "api_key": "x"})
    with pytest.raises(tts.TtsConfigError):
        tts.synthesize("   ", config=_config("openai"))
    with pytest.raises(tts.TtsConfigError):
        tts.synthesize("Hi", config=_config("openai"), provider="elevenlabs")
    assert "sk-test-key" not in repr(_config("openai"))


def test_the_sandbox_rejects_arguments_openai_does_not_know(sandbox: TtsSandbox) -> None:
    import openai

    client = openai.OpenAI(
        api_key=KEY,
        base_url=BASE + "/v1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.WSGITransport(app=sandbox)),
    )
    with pytest.raises(openai.BadRequestError) as caught:
        client.audio.speech.create(model="tts-1", voice="alloy", input="Hi", extra_body={"pitch": 2})
    assert "Unrecognized request argument supplied: pitch" in str(caught.value)


def test_without_the_secret_there_is_no_speech_and_with_it_the_secret_is_used(
    cloud: Any, sandbox: TtsSandbox
) -> None:
    from chalicelib.integrations.aws.secrets import write_secret

    assert tts.configured() is None and tts.synthesize("Hi") is None
    write_secret(tts.SECRET_PATH, {"provider": "elevenlabs", "api_key": KEY, "base_url": BASE})
    assert tts.synthesize("Hi", provider="elevenlabs") is not None
    assert sandbox.calls()[0]["provider"] == "elevenlabs"


def test_openai_over_a_real_socket_without_the_transport_hook() -> None:
    """The production path: the openai package's own HTTP client, to the sandbox served on a port."""
    from local.sandboxes.tiktok_shop.server import serve

    app = create_app(api_key=KEY)
    url, stop = serve(app, "127.0.0.1", 0)
    try:
        naps: list[float] = []
        app.fail_next(429, 1)
        data = tts.synthesize("Over the wire", config=_config("openai", base=url), sleep=naps.append)
    finally:
        stop()
    assert data is not None and tts.audio_suffix(data) == ".wav"
    assert [c["status"] for c in app.calls()] == [429, 200] and naps == [0.5]
    assert app.calls()[0]["user_agent"].startswith("OpenAI/Python ")
    assert "openai" in sys.modules
