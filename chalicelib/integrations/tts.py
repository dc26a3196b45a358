"""Text to speech: OpenAI through the official ``openai`` package, ElevenLabs over HTTP (httpx).

The provider and its key live in one secret, ``platform/tts`` (under the stage's prefix):
``{"provider": "openai" | "elevenlabs", "api_key", "base_url"?, "voice"?}``. Without it,
:func:`configured` is ``None`` and videos render without voice. ``base_url`` is the API's root
(``https://api.openai.com``; the OpenAI client gets ``<base_url>/v1``).

Rate limits (429), server errors (5xx) and network failures are retried with exponential backoff,
honouring ``Retry-After`` up to :data:`MAX_RETRY_AFTER_SECONDS`: :data:`ATTEMPTS` requests at most,
for both providers alike (the OpenAI client's own retries are off, so the count stays ours and the
``sleep`` hook covers them). Every other failure raises a :class:`TtsError` whose message never
carries the API key. ``openai`` and ``httpx`` are imported lazily: only jobs with a voiceover pay
for them. ``openai`` is in the renderer's image only (``requirements-render.txt``): the zip-packaged
Chalice functions never call this module.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.integrations.aws import secrets

if TYPE_CHECKING:
    import httpx

SECRET_PATH = "platform/tts"  # noqa: S105 - a secret name, not a secret
OPENAI_BASE_URL = "https://api.openai.com"
ELEVENLABS_BASE_URL = "https://api.elevenlabs.io"
OPENAI_MODEL = "tts-1"
ELEVENLABS_MODEL = "eleven_multilingual_v2"
DEFAULT_VOICES = {"openai": "alloy", "elevenlabs": "21m00Tcm4TlvDq8ikWAM"}  # ElevenLabs' "Rachel"
MAX_CHARS = 4096
ATTEMPTS = 4
BACKOFF_SECONDS = 0.5
MAX_RETRY_AFTER_SECONDS = 10.0
TIMEOUT_SECONDS = 60.0
DETAIL_CHARS = 300

Provider = Literal["openai", "elevenlabs"]
PROVIDERS: tuple[str, ...] = ("openai", "elevenlabs")

_transport: Any = None
# What a provider may echo of a key in an error ("Incorrect API key provided: sk-proj-****abcd").
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_*\-]{3,}")


def use_transport(transport: httpx.BaseTransport | None) -> None:
    """Send text-to-speech traffic through ``transport`` (tests reach the sandbox in-process)."""
    global _transport
    _transport = transport


class TtsError(Exception):
    """Speech could not be synthesized; ``retryable`` when a later attempt may succeed."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message, self.status = message, status


class TtsConfigError(TtsError):
    """The ``platform/tts`` secret or the arguments are not usable."""


class TtsAuthError(TtsError):
    """The provider refused the API key (401/403)."""


class TtsRequestError(TtsError):
    """The provider rejected the request (another 4xx): the text, voice or model."""


class TtsUnavailable(TtsError):
    """Rate limited, a server error or a network failure, still failing after the retries."""

    retryable = True

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after  # seconds the provider asked us to wait, when it said


@dataclass(frozen=True)
class TtsConfig:
    provider: Provider
    api_key: str
    base_url: str
    voice: str

    def __repr__(self) -> str:  # never the key in a log line
        return f"TtsConfig(provider={self.provider!r}, base_url={self.base_url!r}, voice={self.voice!r})"


def parse_config(value: dict[str, Any]) -> TtsConfig:
    provider = value.get("provider")
    if provider not in PROVIDERS:
        raise TtsConfigError(
            f"{SECRET_PATH}: provider must be one of {', '.join(PROVIDERS)}, not {provider!r}"
        )
    api_key = value.get("api_key")
    if not isinstance(api_key, str) or not api_key:
        raise TtsConfigError(f"{SECRET_PATH}: api_key is missing")
    default_base = OPENAI_BASE_URL if provider == "openai" else ELEVENLABS_BASE_URL
    base_url = str(value.get("base_url") or default_base).rstrip("/")
    voice = str(value.get("voice") or DEFAULT_VOICES[provider])
    return TtsConfig(provider=provider, api_key=api_key, base_url=base_url, voice=voice)


def configured() -> TtsConfig | None:
    """The configured provider, or ``None`` when the ``platform/tts`` secret does not exist."""
    try:
        value = secrets.read_secret(SECRET_PATH)
    except secrets.SecretNotFound:
        return None
    return parse_config(value)


def synthesize(
    text: str,
    *,
    voice: str | None = None,
    provider: Provider | None = None,
    config: TtsConfig | None = None,
    sleep: Any = time.sleep,
) -> bytes | None:
    """Speech for ``text``: WAV from OpenAI, MP3 from ElevenLabs; ``None`` when TTS is not configured.

    ``config`` defaults to the ``platform/tts`` secret; ``provider`` must match it when given, and
    ``voice`` overrides its voice.
    """
    text = (text or "").strip()
    if not text:
        raise TtsConfigError("nothing to say: the text is empty")
    if len(text) > MAX_CHARS:
        raise TtsConfigError(f"the text is {len(text)} characters; at most {MAX_CHARS}")
    config = config or configured()
    if config is None:
        return None
    if provider is not None and provider != config.provider:
        raise TtsConfigError(
            f"provider {provider!r} is not configured ({SECRET_PATH} says {config.provider!r})"
        )
    voice = voice or config.voice
    if config.provider == "openai":
        return _openai_speech(config, text, voice, sleep)
    return _elevenlabs_speech(config, text, voice, sleep)


def audio_suffix(data: bytes) -> str:
    """``.wav`` or ``.mp3``, from the bytes themselves."""
    return ".wav" if data[:4] == b"RIFF" and data[8:12] == b"WAVE" else ".mp3"


# --- the providers ------------------------------------------------------------------------------


def _openai_speech(config: TtsConfig, text: str, voice: str, sleep: Any) -> bytes:
    import openai

    key = config.api_key
    http_client = openai.DefaultHttpxClient(transport=_transport) if _transport is not None else None
    with openai.OpenAI(
        api_key=key,
        base_url=_openai_base_url(config.base_url),
        max_retries=0,  # retried below, like ElevenLabs: one bounded policy, one sleep hook
        timeout=TIMEOUT_SECONDS,
        http_client=http_client,
    ) as client:

        def attempt() -> bytes:
            try:
                response = client.audio.speech.create(
                    model=OPENAI_MODEL, voice=voice, input=text, response_format="wav"
                )
            except openai.APIStatusError as exc:
                detail = _openai_detail(exc)
                raise _status_error(exc.status_code, detail, exc.response.headers, key) from None
            except openai.APIConnectionError as exc:  # APITimeoutError too
                cause = exc.__cause__ or exc
                raise TtsUnavailable(
                    _redact(f"text-to-speech request failed: {type(cause).__name__}: {cause}", key)
                ) from None
            except openai.OpenAIError as exc:
                raise TtsRequestError(_redact(f"text-to-speech request failed: {exc}", key)) from None
            return _audio(response.content, 200)

        return _with_retries(attempt, sleep)


def _openai_base_url(base_url: str) -> str:
    """The OpenAI client's base URL: the API root plus ``/v1`` (a secret that already says it is kept)."""
    return base_url if base_url.endswith("/v1") else f"{base_url}/v1"


def _openai_detail(exc: Any) -> str:
    body = exc.body  # the parsed "error" object of OpenAI's error answers
    if isinstance(body, Mapping) and isinstance(body.get("message"), str):
        return body["message"]
    return exc.response.text


def _elevenlabs_speech(config: TtsConfig, text: str, voice: str, sleep: Any) -> bytes:
    import httpx

    key = config.api_key
    url = f"{config.base_url}/v1/text-to-speech/{voice}"
    headers = {"xi-api-key": key, "Accept": "audio/mpeg"}
    body = {"text": text, "model_id": ELEVENLABS_MODEL}
    params = {"output_format": "mp3_44100_128"}
    with httpx.Client(timeout=TIMEOUT_SECONDS, transport=_transport) as http:

        def attempt() -> bytes:
            try:
                response = http.post(url, headers=headers, json=body, params=params)
            except httpx.HTTPError as exc:
                raise TtsUnavailable(
                    _redact(f"text-to-speech request failed: {type(exc).__name__}: {exc}", key)
                ) from None
            if response.status_code != 200:
                raise _status_error(response.status_code, response.text, response.headers, key)
            return _audio(response.content, response.status_code)

        return _with_retries(attempt, sleep)


# --- errors and retries -------------------------------------------------------------------------


def _with_retries(attempt: Callable[[], bytes], sleep: Any) -> bytes:
    """``attempt()`` up to :data:`ATTEMPTS` times while it raises :class:`TtsUnavailable`."""
    last: TtsUnavailable | None = None
    for n in range(ATTEMPTS):
        try:
            return attempt()
        except TtsUnavailable as exc:
            last = exc
            if n + 1 < ATTEMPTS:
                waited = min(exc.retry_after or 0.0, MAX_RETRY_AFTER_SECONDS)
                sleep(max(BACKOFF_SECONDS * 2**n, waited))
    assert last is not None
    raise last


def _status_error(status: int, detail: str, headers: Mapping[str, str], key: str) -> TtsError:
    detail = _redact(detail[:DETAIL_CHARS], key)
    if status == 429 or status >= 500:
        return TtsUnavailable(
            f"text-to-speech provider answered {status}: {detail}",
            status=status,
            retry_after=_retry_after(headers),
        )
    if status in (401, 403):
        return TtsAuthError(f"the text-to-speech API key was refused ({status}): {detail}", status=status)
    return TtsRequestError(f"text-to-speech request rejected ({status}): {detail}", status=status)


def _audio(content: bytes, status: int) -> bytes:
    if not content:
        raise TtsRequestError("the provider answered 200 with no audio", status=status)
    return content


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``Retry-After-Ms`` or ``Retry-After`` (seconds or an HTTP date), when given."""
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            from email.utils import parsedate_to_datetime

            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _redact(text: str, key: str) -> str:
    """``text`` without the key, nor the masked keys providers echo back."""
    if key:
        text = text.replace(key, "[redacted]")
    return _KEY_LIKE.sub("[redacted]", text)
