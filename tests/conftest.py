"""Shared fixtures: a moto cloud provisioned from the same definitions as the stack, and API clients."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from moto import mock_aws

# Set before any project import reads them; tests never reach AWS.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ClickTokTest",
        "POWERTOOLS_SERVICE_NAME": "clicktok",
    }
)


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto in-process with every ClickTok resource created; yields the settings."""
    from chalicelib.runtime import ensure_ready, reset_runtime
    from local.provision import local_environment, provision

    for name, value in local_environment("test", "https://sqs.us-east-1.amazonaws.com").items():
        monkeypatch.setenv(name, value)
    for name in ("CLICKTOK_AWS_ENDPOINT_URL", "CLICKTOK_DYNAMODB_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        reset_runtime()
        settings = ensure_ready()
        provision(settings)
        yield settings
    reset_runtime()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


class Api:
    """The HTTP API through Chalice's local gateway, as API Gateway would call it."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def invoke_sqs(self, function: str, queue: str, bodies: list[str]) -> Any:
        """Run an SQS handler as Lambda would, with a generated event; returns its answer."""
        event = self._client.events.generate_sqs_event(message_bodies=bodies, queue_name=queue)
        return self._client.lambda_.invoke(function, event).payload

    def invoke_schedule(self, function: str) -> Any:
        event = self._client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        return self._client.lambda_.invoke(function, event).payload

    def call(
        self,
        method: str,
        path: str,
        *,
        key: str | None = None,
        json_body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"content-type": "application/json", **(headers or {})}
        if key is not None:
            sent["authorization"] = f"Bearer {key}"
        body = raw if raw is not None else (json.dumps(json_body).encode() if json_body is not None else b"")
        response = self._client.http.request(method, path, headers=sent, body=body)
        text = response.body.decode() if response.body else ""
        headers = {name.lower(): value for name, value in response.headers.items()}
        return Answer(response.status_code, headers, json.loads(text) if text else None)

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Answer:
        return self.call("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Answer:
        return self.call("DELETE", path, **kwargs)

    def add_user(self, key: str, email: str, role: str) -> dict[str, Any]:
        answer = self.post("/users", key=key, json_body={"email": email, "role": role})
        assert answer.status == 201, answer.body
        return answer.body

    def pages(self, path: str, key: str) -> list[dict[str, Any]]:
        """Every page of a list, following next_cursor to the end."""
        pages, cursor = [], None
        while True:
            separator = "&" if "?" in path else "?"
            answer = self.get(path + (f"{separator}cursor={cursor}" if cursor else ""), key=key)
            assert answer.status == 200, answer.body
            pages.append(answer.body)
            cursor = answer.body["next_cursor"]
            if cursor is None:
                return pages


@pytest.fixture
def api(cloud: Any) -> Iterator[Api]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client:
        yield Api(client)


@dataclass
class Tenant:
    tenant_id: str
    owner_id: str
    owner_key: str


@pytest.fixture
def operator_key(cloud: Any) -> str:
    from chalicelib.services.accounts import create_operator

    return create_operator("ops@clicktok.test").api_key


@pytest.fixture
def make_tenant(api: Api, operator_key: str) -> Any:
    def make(name: str = "Acme Shop") -> Tenant:
        answer = api.post(
            "/tenants",
            key=operator_key,
            json_body={"name": name, "owner_email": f"owner@{name[:4].lower()}.test"},
        )
        assert answer.status == 201, answer.body
        return Tenant(
            answer.body["tenant_id"], answer.body["owner"]["user_id"], answer.body["owner"]["api_key"]
        )

    return make
