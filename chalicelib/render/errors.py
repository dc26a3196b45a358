"""Why a render failed, in words a creator can act on."""

from __future__ import annotations


class RenderError(Exception):
    """A render failed; ``reason`` is a short code, the message says what to fix."""

    reason = "render_failed"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AssetError(RenderError):
    """A product image, logo, music, voice or background video is missing or unreadable."""

    reason = "bad_asset"


class DurationError(RenderError):
    reason = "bad_duration"


class EncoderError(RenderError):
    reason = "encoder_failed"
