"""A WSGI sandbox for OpenAI ``POST /v1/audio/speech`` and ElevenLabs ``POST /v1/text-to-speech/{voice}``.

Both check their auth header (``Authorization: Bearer <key>`` / ``xi-api-key``; 401 otherwise) and
validate the JSON body (400/422 like the real APIs), then answer with a WAV of speech-like audio:
a "syllable" (a gliding tone with a few harmonics under an attack/decay envelope) per few characters,
about 60 ms per character, capped at ``MAX_SECONDS``. ``GET /_sandbox/calls`` lists the requests
served; ``POST /_sandbox/faults`` ``{"status": 500, "count": 2}`` makes the next calls fail.
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
OPENAI_VOICES = {"alloy", "ash", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer"}
OPENAI_FORMATS = {"wav", "mp3", "pcm", "opus", "aac", "flac"}


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
        self._faults: list[int] = []
        self._lock = threading.Lock()

    def calls(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(call) for call in self._calls]

    def fail_next(self, status: int, count: int = 1) -> None:
        with self._lock:
            self._faults.extend([status] * count)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO") or "/"
        if path == "/_sandbox/calls" and method == "GET":
            return _json(start_response, "200 OK", {"calls": self.calls()})
        if path == "/_sandbox/faults" and method == "POST":
            body = _body(environ)
            if not isinstance(body, dict) or not isinstance(body.get("status"), int):
                return _json(start_response, "400 Bad Request", {"error": "status (int) required"})
            self.fail_next(body["status"], int(body.get("count") or 1))
            return _json(start_response, "200 OK", {"ok": True})
        if method != "POST":
            return _json(start_response, "405 Method Not Allowed", {"error": "POST only"})
        if path == "/v1/audio/speech":
            provider, voice = "openai", None
        elif path.startswith("/v1/text-to-speech/") and path.count("/") == 3:
            provider, voice = "elevenlabs", path.rsplit("/", 1)[1]
        else:
            return _json(start_response, "404 Not Found", {"error": f"no such endpoint: {path}"})
        call: dict[str, Any] = {"provider": provider, "path": path, "query": environ.get("QUERY_STRING", "")}
        with self._lock:
            self._calls.append(call)
            fault = self._faults.pop(0) if self._faults else None
        if not self._authorized(provider, environ):
            call["status"] = 401
            if provider == "openai":
                error: Any = {
                    "error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}
                }
            else:
                error = {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
            return _json(start_response, "401 Unauthorized", error)
        if fault is not None:
            call["status"] = fault
            return _json(start_response, f"{fault} Sandbox Fault", {"error": "injected fault"})
        body = _body(environ)
        problem, text = self._openai(body) if provider == "openai" else self._elevenlabs(body, voice or "")
        if problem:
            call["status"] = 400
            return _json(start_response, "400 Bad Request", {"error": {"message": problem}})
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
        text = body.get("input")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_CHARS:
            return f"input: a non-empty string of at most {MAX_CHARS} characters", ""
        if body.get("model") not in ("tts-1", "tts-1-hd", "gpt-4o-mini-tts"):
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


def _json(start_response: StartResponse, status: str, value: Any) -> list[bytes]:
    body = json.dumps(value).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def create_app(**options: Any) -> TtsSandbox:
    return TtsSandbox(**options)
