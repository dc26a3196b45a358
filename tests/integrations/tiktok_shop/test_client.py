"""The client against the sandbox (``SandboxTransport``, in-process) and against scripted transports."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from chalicelib.integrations.tiktok_shop import errors
from chalicelib.integrations.tiktok_shop.client import TikTokShopClient, TokenBucketBudget
from chalicelib.integrations.tiktok_shop.models import TokenSet
from chalicelib.integrations.tiktok_shop.signing import sign_request
from local.sandboxes.tiktok_shop import SandboxTransport, create_app

KEY, SECRET = "ck_key", "ck_secret"


class Clock:
    def __init__(self) -> None:
        self.now = 1_760_000_000.0

    def __call__(self) -> float:
        return self.now


class Tokens:
    """A minimal TokenSource: refreshes through the client, counts refreshes."""

    def __init__(self, token: TokenSet) -> None:
        self.token = token
        self.client: TikTokShopClient | None = None
        self.refreshes = 0

    def current(self) -> TokenSet:
        return self.token

    def refreshed(self, stale: Any) -> TokenSet:
        self.refreshes += 1
        if stale.access_token == self.token.access_token:
            assert self.client is not None
            self.token = self.client.refresh_token(self.token.refresh_token)
        return self.token


class Env:
    def __init__(self) -> None:
        self.clock = Clock()
        self.sandbox = create_app(KEY, SECRET, clock=self.clock)
        self.shop = self.sandbox.create_shop("Glow", "US")
        self.sandbox.generate_orders(self.shop["shop_id"], 250, seed=5, days=30)
        self.sleeps: list[float] = []
        self.auth = self.client()
        self.tokens = Tokens(self.auth.get_token(self.sandbox.authorize(self.shop["shop_id"])))
        self.tokens.client = self.auth

    def client(self, **options: Any) -> TikTokShopClient:
        options.setdefault("tokens", getattr(self, "tokens", None))
        return TikTokShopClient(
            app_key=KEY,
            app_secret=options.pop("secret", SECRET),
            api_base_url="http://sandbox",
            auth_base_url="http://sandbox",
            transport=SandboxTransport(app=self.sandbox),
            sleep=self.sleeps.append,
            clock=self.clock,
            jitter=lambda: 0.5,
            **options,
        )

    @property
    def cipher(self) -> str:
        return self.shop["cipher"]


@pytest.fixture
def env() -> Env:
    return Env()


def test_signed_calls_are_accepted(env):
    client = env.client()
    (shop,) = client.authorized_shops()
    assert shop.cipher == env.cipher and shop.id == env.shop["shop_id"]
    page = client.search_orders(env.cipher, page_size=50)
    assert len(page.orders) == 50 and page.total_count == 250 and page.next_page_token
    assert [o.update_time for o in page.orders] == sorted(o.update_time for o in page.orders)
    order = page.orders[0]
    assert order.payment is not None and isinstance(order.payment.total_amount, str)
    assert order.model_dump()["recipient_address"]  # unnamed fields are kept
    (detail,) = client.get_orders(env.cipher, [order.id])
    assert detail.id == order.id
    products = client.search_products(env.cipher, status="ACTIVATE")
    assert products.products and all(p.status == "ACTIVATE" for p in products.products)
    product = client.get_product(env.cipher, products.products[0].id)
    assert product.image_urls and product.skus
    perf = client.shop_performance(env.cipher, "2025-10-01", "2025-10-08")
    assert len(perf.intervals) == 7 and perf.intervals[0].gmv.currency == "USD"
    assert client.calls == 6


def test_pages_through_everything(env):
    client = env.client()
    seen, token = set(), None
    while True:
        page = client.search_orders(env.cipher, update_time_ge=0, page_size=100, page_token=token)
        seen |= {o.id for o in page.orders}
        token = page.next_page_token or None
        if token is None:
            break
    assert len(seen) == 250 and client.calls == 3


def test_request_shape(env):
    client = env.client()
    client.authorized_shops()
    client.search_orders(env.cipher, order_status="COMPLETED")
    calls = env.sandbox.calls()[-2:]
    assert "shop_cipher" not in calls[0]["query"]
    assert calls[1]["query"]["shop_cipher"] == env.cipher
    assert set(calls[1]["query"]) == {
        "app_key",
        "timestamp",
        "sign",
        "shop_cipher",
        "page_size",
        "sort_field",
        "sort_order",
    }
    assert "access_token" not in calls[1]["query"]
    with pytest.raises(ValueError, match="shop_cipher"):
        client.request("GET", "/authorization/202309/shops", shop_cipher=env.cipher)


def test_body_signed_is_body_sent_and_headers():
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"code": 0, "message": "ok", "request_id": "r", "data": {}})

    client = TikTokShopClient(
        app_key=KEY,
        app_secret=SECRET,
        transport=httpx.MockTransport(handler),
        tokens=_static("tok-1", 4_000_000_000),
    )
    client.search_orders("CIPHER", order_status="COMPLETED", filters={"buyer_user_id": "ünï €"})
    client.authorized_shops()
    post, get = sent
    assert (
        post.content
        == json.dumps(
            {"order_status": "COMPLETED", "buyer_user_id": "ünï €"}, separators=(",", ":"), ensure_ascii=False
        ).encode()
    )
    params = dict(post.url.params)
    assert params["sign"] == sign_request(SECRET, post.url.path, params, post.content)
    assert (
        post.headers["x-tts-access-token"] == "tok-1" and post.headers["content-type"] == "application/json"
    )
    assert get.headers["content-type"] == "application/json" and get.content == b""
    assert dict(get.url.params)["sign"] == sign_request(SECRET, get.url.path, dict(get.url.params))
    assert str(post.url).startswith("https://open-api.tiktokglobalshop.com/order/202309/orders/search?")


def test_order_ids_are_comma_joined_and_chunked_by_50(env):
    client = env.client()
    ids = [o["id"] for o in env.sandbox.ground_truth(env.shop["shop_id"])[:120]]
    orders = client.get_orders(env.cipher, ids)
    assert [o.id for o in orders] == ids and client.calls == 3
    assert len(env.sandbox.calls()[-1]["query"]["ids"].split(",")) == 20


def _static(token: str, expires: int) -> Any:
    class _Token:
        access_token = token
        access_token_expire_in = expires

    class _Source:
        def current(self) -> Any:
            return _Token()

        def refreshed(self, stale: Any) -> Any:
            return _Token()

    return _Source()


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        (36009002, 429, errors.RateLimited),
        (36009003, 200, errors.ServerError),
        (36009007, 200, errors.ServerError),
        (None, 503, errors.ServerError),
        (105002, 401, errors.AccessTokenExpired),
        (105001, 401, errors.AuthError),
        (105003, 200, errors.AuthError),
        (36004004, 200, errors.AuthError),
        (36004001, 200, errors.RefreshTokenInvalid),
        (36004005, 200, errors.RefreshTokenInvalid),
        (106001, 200, errors.InvalidSignature),
        (36009004, 200, errors.InvalidParam),
        (105005, 200, errors.MissingScope),
        (12345678, 200, errors.TikTokShopError),
    ],
)
def test_envelope_errors_are_typed(code, status, error):
    def handler(request: httpx.Request) -> httpx.Response:
        if code is None:
            return httpx.Response(status, text="upstream unavailable")
        return httpx.Response(status, json={"code": code, "message": "m", "request_id": "rid", "data": None})

    client = TikTokShopClient(
        app_key=KEY,
        app_secret=SECRET,
        transport=httpx.MockTransport(handler),
        tokens=_static("t", 4_000_000_000),
        max_attempts=1,
    )
    with pytest.raises(error) as caught:
        client.authorized_shops()
    assert type(caught.value) is error
    assert caught.value.code == code and caught.value.http_status == status
    if code is not None:
        assert caught.value.request_id == "rid"


def test_sandbox_rejections_are_typed(env):
    with pytest.raises(errors.InvalidSignature):
        env.client(secret="wrong").authorized_shops()
    with pytest.raises(errors.InvalidParam):
        env.client().search_orders(env.cipher, page_size=0)
    with pytest.raises(errors.InvalidParam):
        env.client().search_orders("GCP_unknown")
    with pytest.raises(errors.RefreshTokenInvalid):
        env.auth.refresh_token("no-such-token")
    with pytest.raises(errors.AuthError):
        env.auth.get_token("no-such-code")


def test_retries_rate_limits_honouring_retry_after(env):
    client = env.client()
    env.sandbox.inject_fault("rate_limit", 2, retry_after=3)
    assert client.authorized_shops()
    assert env.sleeps == [3.0, 3.0] and client.calls == 3


def test_retries_server_errors_with_backoff_and_jitter(env):
    client = env.client(backoff_base=0.5)
    env.sandbox.inject_fault("server_error", 3)
    assert client.search_orders(env.cipher).orders
    assert env.sleeps == [0.25, 0.5, 1.0]  # jitter 0.5 x base * 2^(n-1)
    assert client.calls == 4


def test_retries_timeouts(env):
    client = env.client()
    env.sandbox.inject_fault("timeout", 1)
    assert client.authorized_shops()
    assert client.calls == 2 and len(env.sleeps) == 1
    assert [c["fault"] for c in env.sandbox.calls()[-2:]] == ["timeout", None]


def test_gives_up_after_max_attempts(env):
    client = env.client(max_attempts=3)
    env.sandbox.inject_fault("rate_limit", 10, retry_after=1)
    with pytest.raises(errors.RateLimited) as caught:
        client.authorized_shops()
    assert caught.value.retry_after == 1.0 and caught.value.http_status == 429
    assert client.calls == 3 and env.sleeps == [1.0, 1.0]
    env.sandbox.clear_faults()
    env.sandbox.inject_fault("timeout", 5)
    with pytest.raises(errors.NetworkTimeout):
        client.authorized_shops()


def test_retry_after_is_capped(env):
    client = env.client(max_retry_after=2)
    env.sandbox.inject_fault("rate_limit", 1, retry_after=600)
    client.authorized_shops()
    assert env.sleeps == [2]


def test_refreshes_once_on_expired_token_then_succeeds(env):
    client = env.client()
    env.sandbox.inject_fault("expire_token", 1)
    old = env.tokens.token
    assert client.authorized_shops()
    assert env.tokens.refreshes == 1 and env.tokens.token.access_token != old.access_token
    assert [c["code"] for c in env.sandbox.calls()[-3:]] == [105002, 0, 0]  # the API, the refresh, the retry
    assert env.sleeps == []


def test_gives_up_when_the_refreshed_token_is_expired_too(env):
    class Stubborn(Tokens):
        def refreshed(self, stale: Any) -> TokenSet:
            self.refreshes += 1
            return self.token

    tokens = Stubborn(env.tokens.token)
    client = env.client(tokens=tokens)
    env.sandbox.expire_tokens()
    with pytest.raises(errors.AccessTokenExpired):
        client.authorized_shops()
    assert tokens.refreshes == 1 and client.calls == 2


def test_refreshes_proactively_before_expiry(env):
    client = env.client()
    env.clock.now = env.tokens.token.access_token_expire_in - 120  # inside the 5-minute margin
    env.sandbox.clear_calls()
    assert client.authorized_shops()
    assert env.tokens.refreshes == 1
    assert [c["path"] for c in env.sandbox.calls()] == [
        "/api/v2/token/refresh",
        "/authorization/202309/shops",
    ]


def test_refresh_rotates_the_refresh_token(env):
    first = env.tokens.token
    second = env.auth.refresh_token(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.access_token_expire_in > env.clock()  # absolute
    with pytest.raises(errors.RefreshTokenInvalid):
        env.auth.refresh_token(first.refresh_token)


def test_authorize_url(env):
    client = env.client()
    assert client.authorize_url(KEY, "st") == f"http://sandbox/oauth/authorize?app_key={KEY}&state=st"
    real = TikTokShopClient(
        app_key=KEY, app_secret=SECRET, authorize_base_url="https://services.tiktokshop.com/open/authorize"
    )
    assert (
        real.authorize_url("7123", "a b")
        == "https://services.tiktokshop.com/open/authorize?service_id=7123&state=a+b"
    )
    redirect = httpx.Client(transport=SandboxTransport(app=env.sandbox)).get(
        client.authorize_url(KEY, "st", extra={"redirect_uri": "https://x.test/cb"})
    )
    code = httpx.URL(redirect.headers["location"]).params["code"]
    assert env.auth.get_token(code).seller_name == "Glow"


def test_token_bucket_is_per_shop():
    now = [0.0]
    waits: list[float] = []
    budget = TokenBucketBudget(rate=2, burst=2, clock=lambda: now[0], sleep=waits.append)
    for _ in range(2):
        budget.acquire("big")
    assert waits == []
    budget.acquire("big")
    assert waits == [0.5]
    budget.acquire("small")  # another shop is not held back by the big one
    assert waits == [0.5]
    now[0] += 10
    budget.acquire("big")
    assert waits == [0.5]


def test_budget_is_consulted_per_attempt(env):
    seen: list[str] = []

    class Budget:
        def acquire(self, shop_key: str) -> None:
            seen.append(shop_key)

    client = env.client(budget=Budget())
    env.sandbox.inject_fault("server_error", 1)
    client.search_orders(env.cipher)
    client.authorized_shops()
    assert seen == [env.cipher, env.cipher, ""]
