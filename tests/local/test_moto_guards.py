"""Fails loudly when moto changes an internal the local cloud relies on.

* ``LambdaFunction._invoke_lambda(self, event)`` -> ``(payload, errored, logs)`` is where every
  Lambda invocation ends (``local/lambdas.py`` replaces it);
* ``sqs_backends[account][region].queues[name]._messages`` with ``Message.body``,
  ``.message_attributes`` (AWS-style keys), ``.group_id``, ``.deduplication_id``
  (``local/persistence.py`` reads pending and in-flight messages there);
* ``Rule.send_to_targets``, ``notifications._invoke_lambda``/``_start_sfn_execution`` and
  ``EventTemplateParser.parse`` (the EventBridge shim in ``local/lambdas.py``);
* ``ThreadedMotoServer(ip_address, port=0).get_host_and_port()``, ``POST /moto-api/config`` and
  ``MOTO_PORT`` (``local/stack.py``), exercised end to end: a Step Functions execution in the
  server calling a Lambda task that runs in-process.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Iterator
from types import ModuleType

import boto3
import httpx
import pytest

from local import lambdas
from local.persistence import dump_sqs


def test_lambda_invoke_goes_through_invoke_lambda() -> None:
    from moto.awslambda.models import LambdaFunction

    assert list(inspect.signature(LambdaFunction._invoke_lambda).parameters) == ["self", "event"], (
        "moto changed LambdaFunction._invoke_lambda: update local/lambdas.py's shim"
    )
    assert "self._invoke_lambda(event=body)" in inspect.getsource(LambdaFunction.invoke), (
        "moto's LambdaFunction.invoke no longer calls _invoke_lambda: update local/lambdas.py"
    )
    from moto.events import notifications

    assert "get_backend(account_id, lambda_region).invoke(" in inspect.getsource(notifications._invoke_lambda)


def test_shim_replaces_and_restores_the_method(lambda_shim: None) -> None:
    from moto.awslambda.models import LambdaFunction

    assert LambdaFunction._invoke_lambda is lambdas._shim_invoke_lambda
    lambdas.uninstall_lambda_shim()
    assert LambdaFunction._invoke_lambda is not lambdas._shim_invoke_lambda
    lambdas.install_lambda_shim()


def test_sqs_backend_layout(aws: None) -> None:
    from moto.sqs.models import Message, sqs_backends

    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="guard")["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody="pending",
        MessageAttributes={
            "s": {"DataType": "String", "StringValue": "v"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    sqs.send_message(QueueUrl=url, MessageBody="in flight")
    sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)
    queue = sqs_backends["123456789012"]["us-east-1"].queues["guard"]
    assert all(isinstance(m, Message) for m in queue._messages)
    for attribute in ("body", "message_attributes", "group_id", "deduplication_id"):
        assert hasattr(queue._messages[0], attribute), f"moto's sqs Message lost .{attribute}"
    saved = dump_sqs("us-east-1")["guard"]
    assert sorted(m["body"] for m in saved) == ["in flight", "pending"]  # in-flight ones too
    pending = next(m for m in saved if m["body"] == "pending")
    assert pending["attributes"] == {
        "s": {"DataType": "String", "StringValue": "v"},
        "b": {"DataType": "Binary", "BinaryValue": "AAE="},
    }


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    port = server.get_host_and_port()[1]
    assert port > 0
    monkeypatch.setenv("MOTO_PORT", str(port))
    url = f"http://127.0.0.1:{port}"
    httpx.post(
        f"{url}/moto-api/config", json={"stepfunctions": {"execute_state_machine": True}}
    ).raise_for_status()
    yield url
    httpx.post(f"{url}/moto-api/reset")
    server.stop()


def test_server_mode_step_functions_call_lambdas_in_process(
    moto_server: str, fixture_app: ModuleType, lambda_shim: None
) -> None:
    def client(service: str) -> object:
        return boto3.client(service, region_name="us-east-1", endpoint_url=moto_server)

    arns = lambdas.register_app_functions(fixture_app, "local", client("lambda"), client("iam"))
    sfn = client("stepfunctions")
    definition = {"StartAt": "D", "States": {"D": {"Type": "Task", "Resource": arns["double"], "End": True}}}
    role = "arn:aws:iam::123456789012:role/clicktok-local-lambda"
    machine = sfn.create_state_machine(name="guard", definition=json.dumps(definition), roleArn=role)
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], input='{"value": 5}')
    deadline = time.monotonic() + 15
    while (described := sfn.describe_execution(executionArn=execution["executionArn"]))[
        "status"
    ] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["value"] == 10


def test_eventbridge_internals() -> None:
    from moto.events import notifications
    from moto.events.models import Rule
    from moto.events.utils import EventTemplateParser

    def params(function: object) -> list[str]:
        return list(inspect.signature(function).parameters)  # type: ignore[arg-type]

    assert params(Rule.send_to_targets) == ["self", "original_event", "transform_input"]
    assert params(notifications._invoke_lambda) == ["account_id", "fn_arn", "event"]
    assert params(notifications._start_sfn_execution) == ["account_id", "region", "sfn_arn", "event"]
    assert params(EventTemplateParser.parse) == ["input_template", "input_paths_map", "event"]
    source = inspect.getsource(Rule.send_to_targets)
    assert "self.event_pattern.matches_event(" in source and "for target in self.targets" in source
    assert "raise NotImplementedError" in source, "moto may now deliver to Lambda itself: revisit the shim"
