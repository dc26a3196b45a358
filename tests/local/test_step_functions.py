from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local import lambdas
from local.workflows import create_state_machines, render_definition, substitutions
from tests.local.conftest import HERE, REGION, eventually


def _run(sfn: Any, arn: str, payload: dict[str, Any], timeout: float = 15) -> dict[str, Any]:
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, "execution did not finish"
        time.sleep(0.05)


@pytest.fixture
def machines(fixture_app: ModuleType, boto: Callable[[str], Any], lambda_shim: None) -> dict[str, str]:
    arns = lambdas.register_app_functions(fixture_app, "local", boto("lambda"), boto("iam"))
    assert set(arns) == {"double", "explode"}
    values = substitutions(stage="local", region=REGION, function_arns=arns)
    return create_state_machines(boto("stepfunctions"), boto("iam"), HERE / "workflows", values, "local")


def test_lambda_tasks_run_in_process(machines: dict[str, str], boto: Callable[[str], Any]) -> None:
    assert set(machines) == {"CLICKTOK_WORKFLOW_DOUBLE_ARN", "CLICKTOK_WORKFLOW_EXPLODE_ARN"}
    assert machines["CLICKTOK_WORKFLOW_DOUBLE_ARN"].endswith(":stateMachine:clicktok-local-double")
    result = _run(boto("stepfunctions"), machines["CLICKTOK_WORKFLOW_DOUBLE_ARN"], {"value": 21})
    assert result["status"] == "SUCCEEDED", result
    assert json.loads(result["output"]) == {"value": 84, "remaining_ms": True}


def test_a_failing_lambda_raises_its_error_type(machines: dict[str, str], boto: Callable[[str], Any]) -> None:
    result = _run(boto("stepfunctions"), machines["CLICKTOK_WORKFLOW_EXPLODE_ARN"], {"value": 1})
    assert result["status"] == "SUCCEEDED", result  # caught by ErrorEquals ["ValueError"]
    error = json.loads(result["output"])["error"]
    assert error["Error"] == "ValueError"
    assert "cannot handle" in json.loads(error["Cause"])["errorMessage"]


def test_invoke_api_runs_the_handler(
    fixture_app: ModuleType, boto: Callable[[str], Any], lambda_shim: None
) -> None:
    lambdas.register_app_functions(fixture_app, "local", boto("lambda"), boto("iam"))
    response = boto("lambda").invoke(FunctionName="fixture-local-double", Payload=json.dumps({"value": 4}))
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read())["value"] == 8
    failed = boto("lambda").invoke(FunctionName="fixture-local-explode", Payload=b"{}")
    assert failed["FunctionError"] == "Handled"
    assert json.loads(failed["Payload"].read())["errorType"] == "ValueError"


def test_placeholders() -> None:
    values = substitutions(
        stage="local",
        region="eu-west-1",
        function_arns={"publish_step": "arn:fn"},
        tables={"entities": "t"},
        queues={"sync": "https://q"},
    )
    text = '{"a": "${PublishStepFunctionArn}", "b": "${publish-step-function-arn}", "c": "${SyncQueueUrl}",'
    text += ' "d": "${EntitiesTableName}", "e": "${AWS::Region}"}'
    assert json.loads(render_definition(text, values)) == {
        "a": "arn:fn",
        "b": "arn:fn",
        "c": "https://q",
        "d": "t",
        "e": "eu-west-1",
    }
    with pytest.raises(ValueError, match="NopeFunctionArn"):
        render_definition('{"a": "${NopeFunctionArn}"}', values, "x.asl.json")


def test_no_workflows_is_fine(tmp_path: Path, boto: Callable[[str], Any]) -> None:
    assert create_state_machines(boto("stepfunctions"), boto("iam"), tmp_path / "none", {}, "local") == {}


def test_eventbridge_rules_reach_lambda_and_step_functions(
    fixture_app: ModuleType, boto: Callable[[str], Any], lambda_shim: None
) -> None:
    lambdas.install_eventbridge_shim()
    try:
        events = boto("events")
        assert lambdas.register_event_rules(fixture_app, "local", boto("lambda"), boto("iam"), events) == 1
        arns = lambdas.register_app_functions(fixture_app, "local", boto("lambda"), boto("iam"))
        sfn = boto("stepfunctions")
        definition = {
            "StartAt": "D",
            "States": {"D": {"Type": "Task", "Resource": arns["double"], "End": True}},
        }
        role = "arn:aws:iam::123456789012:role/clicktok-local-lambda"
        machine = sfn.create_state_machine(name="on-event", definition=json.dumps(definition), roleArn=role)
        events.put_rule(Name="to-sfn", EventPattern=json.dumps({"source": ["clicktok.sfn"]}))
        events.put_targets(
            Rule="to-sfn",
            Targets=[
                {
                    "Id": "m",
                    "Arn": machine["stateMachineArn"],
                    "InputTransformer": {
                        "InputPathsMap": {"v": "$.detail.value"},
                        "InputTemplate": '{"value": <v>}',
                    },
                }
            ],
        )
        events.put_events(
            Entries=[
                {"Source": "clicktok.test", "DetailType": "Thing", "Detail": json.dumps({"n": 1})},
                {"Source": "clicktok.sfn", "DetailType": "Go", "Detail": json.dumps({"value": 3})},
            ]
        )
        eventually(lambda: len(fixture_app.EVENTS) == 1)
        assert fixture_app.EVENTS[0]["detail"] == {"n": 1}
        assert fixture_app.EVENTS[0]["detail-type"] == "Thing"
        executions = eventually(
            lambda: sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
        )
        result = _run_until_done(sfn, executions[0]["executionArn"])
        assert result["status"] == "SUCCEEDED", result
        assert json.loads(result["output"])["value"] == 6
    finally:
        lambdas.uninstall_eventbridge_shim()


def _run_until_done(sfn: Any, execution: str, timeout: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return described
