"""Text to speech over HTTP (httpx): OpenAI ``/v1/audio/speech`` and ElevenLabs ``/v1/text-to-speech``.

The provider and its key live in one secret, ``platform/tts`` (under the stage's prefix):
``{"provider": "openai" | "elevenlabs", "api_key", "base_url"?, "voice"?}``. Without it,
:func:`configured` is ``None`` and videos render without voice. Rate limits (429) and server errors
(5xx) are retried with exponential backoff; every other failure raises a :class:`TtsError`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from chalicelib.integrations.aws import secrets

if TYPE_CHECKING:  # httpx is imported lazily: only jobs with a voiceover pay for it
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
TIMEOUT_SECONDS = 60.0

Provider = Literal["openai", "elevenlabs"]
PROVIDERS: tuple[str, ...] = ("openai", "elevenlabs")

_transport: Any = None


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
        url = f"{config.base_url}/v1/audio/speech"
        headers = {"Authorization": f"Bearer {config.api_key}", "Accept": "audio/wav"}
        body: dict[str, Any] = {
            "model": OPENAI_MODEL,
            "input": text,
            "voice": voice,
            "response_format": "wav",
        }
        params: dict[str, str] = {}
    else:
        url = f"{config.base_url}/v1/text-to-speech/{voice}"
        headers = {"xi-api-key": config.api_key, "Accept": "audio/mpeg"}
        body = {"text": text, "model_id": ELEVENLABS_MODEL}
        params = {"output_format": "mp3_44100_128"}
    return _post(url, headers=headers, body=body, params=params, sleep=sleep)


def audio_suffix(data: bytes) -> str:
    """``.wav`` or ``.mp3``, from the bytes themselves."""
    return ".wav" if data[:4] == b"RIFF" and data[8:12] == b"WAVE" else ".mp3"


def _post(
    url: str, *, headers: dict[str, str], body: dict[str, Any], params: dict[str, str], sleep: Any
) -> bytes:
    import httpx

    last: TtsError | None = None
    with httpx.Client(timeout=TIMEOUT_SECONDS, transport=_transport) as http:
        for attempt in range(ATTEMPTS):
            if attempt:
                sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            try:
                response = http.post(url, headers=headers, json=body, params=params or None)
            except httpx.HTTPError as exc:
                last = TtsUnavailable(f"text-to-speech request failed: {type(exc).__name__}: {exc}")
                continue
            status = response.status_code
            if status == 200:
                if not response.content:
                    raise TtsRequestError("the provider answered 200 with no audio", status=status)
                return response.content
            detail = response.text[:300]
            if status == 429 or status >= 500:
                retry_after = response.headers.get("retry-after", "")
                last = TtsUnavailable(f"text-to-speech provider answered {status}: {detail}", status=status)
                if retry_after.isdigit() and attempt + 1 < ATTEMPTS:
                    sleep(min(float(retry_after), 10.0))
                continue
            if status in (401, 403):
                raise TtsAuthError(
                    f"the text-to-speech API key was refused ({status}): {detail}", status=status
                )
            raise TtsRequestError(f"text-to-speech request rejected ({status}): {detail}", status=status)
    assert last is not None
    raise last
