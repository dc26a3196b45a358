"""A TikTok Shop sandbox reached in-process, configured as ClickTok's TikTok Shop app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from local.sandboxes.tiktok_shop import SandboxTransport, create_app

APP_KEY, APP_SECRET = "ctk_app_key", "ctk_app_secret"
CALLBACK = "http://clicktok.test/shops/oauth/callback"


@dataclass
class ShopSandbox:
    app: Any
    browser: httpx.Client

    def follow_authorize(self, authorize_url: str, shop_id: str | None = None) -> dict[str, str]:
        """What a seller's browser does: open the authorize page, come back with code and state."""
        url = authorize_url + (f"&sandbox_shop_id={shop_id}" if shop_id else "")
        answer = self.browser.get(url)
        assert answer.status_code == 302, answer.text
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        return {name: values[0] for name, values in query.items()}

    def refresh_calls(self) -> int:
        return sum(1 for call in self.app.calls() if call["path"] == "/api/v2/token/refresh")


@pytest.fixture
def shop_sandbox(cloud: Any) -> Any:
    from chalicelib.integrations.aws import secrets
    from chalicelib.services import tiktok_shop_access

    app = create_app(APP_KEY, APP_SECRET, redirect_uri=CALLBACK)
    transport = SandboxTransport(app=app)
    secrets.reset_secrets_cache()
    secrets.write_secret(tiktok_shop_access.APP_SECRET_PATH, {"app_key": APP_KEY, "app_secret": APP_SECRET})
    tiktok_shop_access.use_transport(transport)
    yield ShopSandbox(app=app, browser=httpx.Client(transport=transport))
    tiktok_shop_access.use_transport(None)
    secrets.reset_secrets_cache()


@pytest.fixture
def queued(cloud: Any) -> Any:
    """Read (and remove) the messages waiting on a queue."""
    import json

    from chalicelib.integrations.aws.clients import client

    def drain(queue: str = "sync") -> list[dict[str, Any]]:
        sqs, url, found = client("sqs"), cloud.queue_url(queue), []
        while True:
            answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = answer.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    return drain


@pytest.fixture
def run_jobs(api: Any, cloud: Any) -> Any:
    """Deliver what waits on the sync queue to the sync worker until the queue is empty."""

    from chalicelib.integrations.aws.clients import client

    def run(max_rounds: int = 50) -> list[Any]:
        sqs, url, answers = client("sqs"), cloud.queue_url("sync"), []
        for _ in range(max_rounds):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0).get(
                "Messages", []
            )
            if not got:
                return answers
            answer = api.invoke_sqs("sync_worker", "sync", [got[0]["Body"]])
            answers.append(answer)
            if not answer.get("batchItemFailures"):
                sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
            else:
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"], VisibilityTimeout=0
                )
        raise AssertionError(f"the sync queue did not drain in {max_rounds} deliveries: {answers[-3:]}")

    return run


@pytest.fixture
def connected_shop(api: Any, make_tenant: Any, shop_sandbox: ShopSandbox, queued: Any) -> Any:
    """A tenant with one sandbox shop connected through the real OAuth flow."""
    tenant = make_tenant()
    shop = shop_sandbox.app.create_shop("Glow Lab", "US")
    start = api.get("/shops/connect", key=tenant.owner_key)
    assert start.status == 200, start.body
    back = shop_sandbox.follow_authorize(start.body["authorize_url"], shop["shop_id"])
    done = api.get(f"/shops/oauth/callback?code={back['code']}&state={back['state']}")
    assert done.status == 200, done.body
    queued()
    return tenant, shop
