"""Text-to-speech sandbox: OpenAI's and ElevenLabs' speech endpoints, answering with speech-like WAV."""

from local.sandboxes.tts.app import TtsSandbox, create_app, speech_wav

__all__ = ["TtsSandbox", "create_app", "speech_wav"]
