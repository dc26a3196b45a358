"""Video jobs end to end in moto: the API queues, the renderer handler consumes the render queue.

Renders run at 720x1280 (``VIDEO_SIZE`` patched) and mostly as 3-second previews, so the whole
folder stays fast; ``spy`` counts the pipeline's real renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.products.conftest import Images, Team, images, new_product, team  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def small_videos(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("chalicelib.services.videos.VIDEO_SIZE", "720x1280")


@dataclass
class Spy:
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.calls)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    from chalicelib.render import pipeline

    real = pipeline.render
    seen = Spy()

    def counting(*args: Any, **kwargs: Any) -> Any:
        seen.calls.append({"size": kwargs.get("size"), "duration": args[3]})
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "render", counting)
    return seen


class RenderQueue:
    """The render queue as the renderer Lambda's event source sees it."""

    def __init__(self, settings: Any) -> None:
        from chalicelib.integrations.aws.clients import client

        self.sqs = client("sqs")
        self.url = settings.queue_url("render")
        self.arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]

    def receive(self, count: int = 10) -> list[dict[str, Any]]:
        return self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=count, AttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])

    def drain(self) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        while batch := self.receive():
            for message in batch:
                found.setdefault(message["MessageId"], message)
            self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        return list(found.values())

    def event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        from local.pumps import sqs_record

        return {"Records": [sqs_record(m, self.arn, "us-east-1") for m in messages]}

    def deliver(self, messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Run the renderer handler on ``messages`` (default: everything queued) as Lambda would."""
        from chalicelib.jobs.render import handler
        from local.lambdas import LambdaContext

        messages = self.drain() if messages is None else messages
        assert messages, "nothing to deliver"
        return handler(self.event(messages), LambdaContext("clicktok-test-renderer", timeout_seconds=900))


@pytest.fixture
def render_queue(cloud: Any) -> RenderQueue:
    return RenderQueue(cloud)


@pytest.fixture
def product(new_product: Any, images: Images) -> dict[str, Any]:  # noqa: F811
    return new_product(title="Glow Serum", image_urls=[images.url("/images/bottle-serum.jpg?w=600&h=750")])


def s3_keys(settings: Any, prefix: str) -> list[str]:
    from chalicelib.integrations.aws.clients import client

    listed = client("s3").list_objects_v2(Bucket=settings.bucket("media"), Prefix=prefix)
    return sorted(obj["Key"] for obj in listed.get("Contents", []))
