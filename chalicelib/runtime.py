"""Makes a process ready to serve: settings loaded and validated, models bound. Idempotent."""

from __future__ import annotations

from functools import lru_cache

from chalicelib.config import Settings, get_settings, reset_settings
from chalicelib.integrations.aws.clients import reset_clients


@lru_cache(maxsize=1)
def ensure_ready() -> Settings:
    from chalicelib.store.binding import bind_models

    settings = get_settings()
    bind_models(settings)
    return settings


def reset_runtime() -> None:
    """Forget settings, clients and bindings (tests and the local stack change the environment)."""
    ensure_ready.cache_clear()
    reset_settings()
    reset_clients()
