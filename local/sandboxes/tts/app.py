"""A WSGI sandbox for OpenAI ``POST /v1/audio/speech`` and ElevenLabs ``POST /v1/text-to-speech/{voice}``.

Both check their auth header (``Authorization: Bearer <key>`` / ``xi-api-key``; 401 otherwise, the
OpenAI one echoing the key masked as the real API does) and validate the JSON body (400 like the real
APIs, unknown OpenAI arguments included), then answer with a WAV of speech-like audio: a "syllable" (a
gliding tone with a few harmonics under an attack/decay envelope) per few characters, about 60 ms per
character, capped at ``MAX_SECONDS``. The OpenAI endpoint takes what the official ``openai`` package
sends (its ``Accept``, ``User-Agent`` and ``X-Stainless-*`` headers are accepted, and the user agent
recorded); errors come in each provider's shape. ``GET /_sandbox/calls`` lists the requests served;
``POST /_sandbox/faults`` ``{"status": 500, "count": 2, "retry_after"?: 1}`` makes the next calls fail
(with a ``Retry-After`` header when given).
"""

from __future__ import annotations

import io
import json
import math
import threading
import wave
from array import array
from collections.abc import Callable, Iterable
from typing import Any

Environ = dict[str, Any]
StartResponse = Callable[..., Any]

SAMPLE_RATE = 22_050
SECONDS_PER_CHAR = 0.06
MAX_SECONDS = 30.0
MAX_CHARS = 4096
OPENAI_VOICES = {
    "alloy", "ash", "ballad", "cedar", "coral", "echo", "fable", "marin", "nova", "onyx", "sage", "shimmer",
    "verse",
}  # fmt: skip
OPENAI_MODELS = {"tts-1", "tts-1-hd", "gpt-4o-mini-tts", "gpt-4o-mini-tts-2025-12-15"}
OPENAI_FORMATS = {"wav", "mp3", "pcm", "opus", "aac", "flac"}
OPENAI_FIELDS = {"model", "input", "voice", "instructions", "response_format", "speed", "stream_format"}


def speech_wav(text: str, *, seed: int = 0) -> bytes:
    """Mono 16-bit WAV: one syllable per ~3 characters, short pauses at spaces and punctuation."""
    seconds = min(MAX_SECONDS, max(0.3, len(text) * SECONDS_PER_CHAR))
    total = int(seconds * SAMPLE_RATE)
    samples = array("h", bytes(2 * total))
    chunks = [text[i : i + 3] for i in range(0, len(text), 3)] or [" "]
    per = total // len(chunks)
    for n, chunk in enumerate(chunks):
        if not chunk.strip(" .,!?;:\n"):
            continue  # silence: a pause
        base = 110.0 + ((sum(map(ord, chunk)) + seed) % 90)  # a voice's pitch range
        glide = 1.0 + 0.15 * math.sin(n)
        start, length = n * per, int(per * 0.85)
        phase = 0.0
        for i in range(length):
            t = i / length
            envelope = min(1.0, t * 12) * (1.0 - t) ** 1.5
            freq = base * (1.0 + (glide - 1.0) * t)
            phase += 2 * math.pi * freq / SAMPLE_RATE
            value = math.sin(phase) + 0.5 * math.sin(2 * phase) + 0.25 * math.sin(3 * phase)
            samples[start + i] = int(9000 * envelope * value)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(samples.tobytes())
    return buffer.getvalue()


class TtsSandbox:
    """The WSGI app; thread-safe; records every call (never the key)."""

    def __init__(self, *, api_key: str = "sandbox-tts-key") -> None:
        self.api_key = api_key
        self._calls: list[dict[str, Any]] = []
        self._faults: list[tuple[int, int | None]] = []
        self._lock = threading.Lock()

    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(call) for call in self._calls]

    def fail_next(self, status: int, count: int = 1, *, retry_after: int | None = None) -> None:
        """The next ``count`` speech calls answer ``status`` (with ``Retry-After`` when given)."""
        with self._lock:
            self._faults.extend([(status, retry_after)] * count)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO") or "/"
        if path == "/_sandbox/calls" and method == "GET":
            return _json(start_response, "200 OK", {"calls": self.calls()})
        if path == "/_sandbox/faults" and method == "POST":
            body = _body(environ)
            if not isinstance(body, dict) or not isinstance(body.get("status"), int):
                return _json(start_response, "400 Bad Request", {"error": "status (int) required"})
            retry_after = body.get("retry_after")
            if retry_after is not None and not isinstance(retry_after, int):
                return _json(start_response, "400 Bad Request", {"error": "retry_after: seconds (int)"})
            self.fail_next(body["status"], int(body.get("count") or 1), retry_after=retry_after)
            return _json(start_response, "200 OK", {"ok": True})
        if method != "POST":
            return _json(start_response, "405 Method Not Allowed", {"error": "POST only"})
        if path == "/v1/audio/speech":
            provider, voice = "openai", None
        elif path.startswith("/v1/text-to-speech/") and path.count("/") == 3:
            provider, voice = "elevenlabs", path.rsplit("/", 1)[1]
        else:
            return _json(start_response, "404 Not Found", {"error": f"no such endpoint: {path}"})
        call: dict[str, Any] = {
            "provider": provider,
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
        }
        with self._lock:
            self._calls.append(call)
            fault = self._faults.pop(0) if self._faults else None
        if not self._authorized(provider, environ):
            call["status"] = 401
            if provider == "openai":
                given = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ").strip()
                message = (
                    f"Incorrect API key provided: {_masked(given)}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys."
                    if given
                    else "You didn't provide an API key."
                )
                error = _openai_error(message, "invalid_request_error", "invalid_api_key")
            else:
                error = {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
            return _json(start_response, "401 Unauthorized", error)
        if fault is not None:
            status, retry_after = fault
            call["status"] = status
            if provider == "openai":
                error = _openai_error("injected fault", "sandbox_fault", f"http_{status}")
            else:
                error = {"detail": {"status": "sandbox_fault", "message": "injected fault"}}
            headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
            return _json(start_response, f"{status} Sandbox Fault", error, headers)
        body = _body(environ)
        problem, text = self._openai(body) if provider == "openai" else self._elevenlabs(body, voice or "")
        if problem:
            call["status"] = 400
            if provider == "openai":
                error = _openai_error(problem, "invalid_request_error", None)
            else:
                error = {"detail": {"status": "invalid_request", "message": problem}}
            return _json(start_response, "400 Bad Request", error)
        call.update(status=200, chars=len(text), voice=body.get("voice") or voice)
        audio = speech_wav(text)
        start_response("200 OK", [("Content-Type", "audio/wav"), ("Content-Length", str(len(audio)))])
        return [audio]

    def _authorized(self, provider: str, environ: Environ) -> bool:
        if provider == "openai":
            return environ.get("HTTP_AUTHORIZATION", "") == f"Bearer {self.api_key}"
        return environ.get("HTTP_XI_API_KEY", "") == self.api_key

    @staticmethod
    def _openai(body: Any) -> tuple[str | None, str]:
        if not isinstance(body, dict):
            return "the body must be a JSON object", ""
        unknown = sorted(set(body) - OPENAI_FIELDS)
        if unknown:
            return f"Unrecognized request argument supplied: {unknown[0]}", ""
        text = body.get("input")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHARS:
            return f"input: a non-empty string of at most {MAX_CHARS} characters", ""
        if body.get("model") not in OPENAI_MODELS:
            return f"model: unknown model {body.get('model')!r}", ""
        if body.get("voice") not in OPENAI_VOICES:
            return f"voice: one of {', '.join(sorted(OPENAI_VOICES))}", ""
        if body.get("response_format", "mp3") not in OPENAI_FORMATS:
            return "response_format: unsupported", ""
        return None, text

    @staticmethod
    def _elevenlabs(body: Any, voice: str) -> tuple[str | None, str]:
        if not voice.isalnum():
            return "voice_id: letters and digits", ""
        if not isinstance(body, dict):
            return "the body must be a JSON object", ""
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHARS:
            return f"text: a non-empty string of at most {MAX_CHARS} characters", ""
        return None, text


def _body(environ: Environ) -> Any:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        return json.loads(environ["wsgi.input"].read(length) or b"null")
    except (ValueError, KeyError):
        return None


def _json(
    start_response: StartResponse, status: str, value: Any, headers: list[tuple[str, str]] | None = None
) -> list[bytes]:
    body = json.dumps(value).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(body))), *(headers or [])],
    )
    return [body]


def _openai_error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _masked(key: str) -> str:
    """A key as OpenAI echoes it in a 401: its start and its last four characters (short ones whole)."""
    return key if len(key) < 12 else f"{key[:3]}{'*' * (len(key) - 7)}{key[-4:]}"


def create_app(**options: Any) -> TtsSandbox:
    return TtsSandbox(**options)
