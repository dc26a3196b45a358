"""The TTS sandbox in-process: ClickTok's client reaches it through an httpx WSGI transport."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from local.sandboxes.tts import TtsSandbox, create_app
from tests.products.conftest import Images, Team, images, new_product, team  # noqa: F401 - fixtures
from tests.videos.conftest import product, render_queue, small_videos  # noqa: F401 - fixtures

KEY = "sk-test-key"
BASE = "http://tts.sandbox"


@pytest.fixture
def sandbox() -> Iterator[TtsSandbox]:
    from chalicelib.integrations import tts

    app = create_app(api_key=KEY)
    tts.use_transport(httpx.WSGITransport(app=app))
    try:
        yield app
    finally:
        tts.use_transport(None)
