"""A TikTok Shop sandbox in-process, and a raw signed caller that can break the rules on purpose."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from chalicelib.integrations.tiktok_shop.signing import sign_request
from local.sandboxes.tiktok_shop import SandboxTransport, create_app

APP_KEY, APP_SECRET = "sbx_key", "sbx_secret"


class Clock:
    def __init__(self, now: float = 1_760_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Raw:
    """Signed Open API calls without the client, so tests can send what the client never would."""

    def __init__(self, app: Any, clock: Clock) -> None:
        self.http = httpx.Client(transport=SandboxTransport(app=app), base_url="http://sandbox")
        self.clock = clock
        self.token = ""

    def call(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        secret: str = APP_SECRET,
        timestamp: int | None = None,
        sign: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        content = json.dumps(body or {}, separators=(",", ":")).encode() if method != "GET" else b""
        params = {k: (",".join(v) if isinstance(v, list) else str(v)) for k, v in (query or {}).items()}
        params.update(app_key=APP_KEY, timestamp=str(timestamp or int(self.clock())))
        params["sign"] = sign or sign_request(secret, path, params, content)
        headers = {
            "Content-Type": "application/json",
            "x-tts-access-token": self.token if token is None else token,
        }
        response = self.http.request(method, path, params=params, content=content or None, headers=headers)
        return response.status_code, response.json()

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, "/_sandbox" + path, json=body)
        assert response.status_code < 300, response.text
        return response.json()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sandbox(clock: Clock) -> Any:
    return create_app(
        APP_KEY, APP_SECRET, clock=clock, redirect_uri="https://clicktok.test/shops/oauth/callback"
    )


@pytest.fixture
def raw(sandbox: Any, clock: Clock) -> Raw:
    return Raw(sandbox, clock)


@pytest.fixture
def shop(sandbox: Any, raw: Raw) -> dict[str, Any]:
    """A US shop with 420 orders over 60 days, authorized; ``raw.token`` is its access token."""
    created = raw.control("POST", "/shops", {"name": "Glow Shop", "region": "US"})
    raw.control("POST", f"/shops/{created['shop_id']}/orders:generate", {"count": 420, "seed": 7, "days": 60})
    tokens = token_get(raw, sandbox.authorize(created["shop_id"]))
    raw.token = tokens["data"]["access_token"]
    return {**created, "tokens": tokens["data"]}


def token_get(raw: Raw, code: str, secret: str = APP_SECRET) -> dict[str, Any]:
    query = {"app_key": APP_KEY, "app_secret": secret, "auth_code": code, "grant_type": "authorized_code"}
    return raw.http.get("/api/v2/token/get", params=query).json()


def token_refresh(raw: Raw, refresh_token: str) -> dict[str, Any]:
    query = {
        "app_key": APP_KEY,
        "app_secret": APP_SECRET,
        "refresh_token": refresh_token,
        "grant_type": "refresh_token",
    }
    return raw.http.get("/api/v2/token/refresh", params=query).json()
