"""Fixtures of the local-cloud tests: moto in-process, the fixture app, the Lambda shim."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.local import fixture_app as fixture_module

HERE = Path(__file__).parent
REGION = "us-east-1"


@pytest.fixture
def fixture_app() -> Iterator[ModuleType]:
    fixture_module.reset()
    yield fixture_module
    fixture_module.reset()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


@pytest.fixture
def boto(aws: None) -> Callable[[str], Any]:
    return lambda service: boto3.client(service, region_name=REGION)


@pytest.fixture
def lambda_shim() -> Iterator[None]:
    from local import lambdas

    lambdas.install_lambda_shim()
    yield
    lambdas.uninstall_lambda_shim()
    lambdas.clear_registry()


@pytest.fixture
def sync_queue(boto: Callable[[str], Any]) -> dict[str, str]:
    """A queue like the real ones (redrive to a DLQ), with maxReceiveCount 2 to keep tests short."""
    sqs = boto("sqs")
    dlq_url = sqs.create_queue(QueueName="test-sync-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName="test-sync",
        Attributes={
            "VisibilityTimeout": "300",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"}),
        },
    )["QueueUrl"]
    return {"url": url, "dlq_url": dlq_url}


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
