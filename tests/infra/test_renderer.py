"""The renderer: a container-image Lambda on the render queue, checked on the session's synthesis.

No Docker is involved: ``cdk synth`` stages the image's filtered build context and records its hash;
the image is built only by ``cdk deploy``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import aws_cdk as cdk
import pytest

from chalicelib.resources import QUEUES
from infra.stacks.clicktok import (
    RENDER_QUEUE,
    RENDERER_DOCKERFILE,
    RENDERER_EPHEMERAL_STORAGE,
    RENDERER_MAX_CONCURRENCY,
    RENDERER_MEMORY_MB,
    RENDERER_SERVICE_NAME,
    RENDERER_TIMEOUT,
    SECRETS_KMS_KEY_ENV,
    renderer_build_excludes,
)
from infra.stages import REPO_ROOT
from tests.infra.conftest import Synthesized
from tests.infra.test_stack import RUNTIME_ENV_NAMES, logical_id, resources, synth_stub

pytestmark = pytest.mark.xdist_group("infra")

SPEC = next(spec for spec in QUEUES if spec.key == RENDER_QUEUE)
DOCKERFILE = REPO_ROOT / RENDERER_DOCKERFILE


def renderer(template: dict) -> tuple[str, dict]:
    (found,) = [
        (name, body["Properties"])
        for name, body in resources(template, "AWS::Lambda::Function").items()
        if name.startswith("Renderer")
    ]
    return found


def statements_of(template: dict, role_prefix: str) -> list[dict]:
    role_id = logical_id(template, "AWS::IAM::Role", role_prefix)
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def actions(statement: dict) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]


# --- the function ------------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "retention_days"), [("dev", 30), ("prod", 90)])
def test_renderer_is_an_image_function_sized_for_renders(
    synthesized: Synthesized, stage: str, retention_days: int
) -> None:
    template = synthesized.json(stage)
    _, function = renderer(template)
    assert function["PackageType"] == "Image"
    assert "ImageUri" in function["Code"]
    assert "Runtime" not in function and "Handler" not in function and "Layers" not in function
    assert function["Architectures"] == ["x86_64"]
    assert function["MemorySize"] == RENDERER_MEMORY_MB == 3008
    assert function["Timeout"] == RENDERER_TIMEOUT.to_seconds() == 900
    assert function["EphemeralStorage"] == {"Size": RENDERER_EPHEMERAL_STORAGE.to_mebibytes()}
    assert function["EphemeralStorage"]["Size"] >= 4096
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["Role"] == {"Fn::GetAtt": [logical_id(template, "AWS::IAM::Role", "RendererRole"), "Arn"]}
    log_group = template["Resources"][function["LoggingConfig"]["LogGroup"]["Ref"]]
    assert log_group["Type"] == "AWS::Logs::LogGroup"
    assert log_group["Properties"]["RetentionInDays"] == retention_days


def test_renderer_has_the_functions_environment(synthesized: Synthesized) -> None:
    template = synthesized.json()
    variables = renderer(template)[1]["Environment"]["Variables"]
    assert RUNTIME_ENV_NAMES | {SECRETS_KMS_KEY_ENV} <= set(variables)
    assert variables["POWERTOOLS_SERVICE_NAME"] == RENDERER_SERVICE_NAME == "clicktok-renderer"
    assert variables["CLICKTOK_STAGE"] == "dev"
    chalice_functions = resources(template, "AWS::Serverless::Function")
    if chalice_functions:  # the same values as the Chalice functions, but for the service name
        chalice = next(iter(chalice_functions.values()))["Properties"]["Environment"]["Variables"]
        assert {k: v for k, v in variables.items() if k != "POWERTOOLS_SERVICE_NAME"} == {
            k: v for k, v in chalice.items() if k != "POWERTOOLS_SERVICE_NAME"
        }


# --- its queue ---------------------------------------------------------------------------------


def test_render_queue_feeds_the_renderer_with_partial_batch_failures(synthesized: Synthesized) -> None:
    template = synthesized.json()
    function_id, _ = renderer(template)
    queue_id = logical_id(template, "AWS::SQS::Queue", "RenderQueue")
    (mapping,) = [
        body["Properties"]
        for body in resources(template, "AWS::Lambda::EventSourceMapping").values()
        if body["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    assert mapping["FunctionName"] == {"Ref": function_id}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == SPEC.batch_size
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": RENDERER_MAX_CONCURRENCY}
    assert 2 <= RENDERER_MAX_CONCURRENCY <= 1000  # what SQS event sources accept
    # No Chalice function reads the render queue as well.
    for name, function in resources(template, "AWS::Serverless::Function").items():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                assert event["Properties"]["Queue"] != {"Fn::GetAtt": [queue_id, "Arn"]}, name


def test_render_queue_has_its_dead_letter_queue_and_outlasts_a_render(synthesized: Synthesized) -> None:
    template = synthesized.json()
    queue = template["Resources"][logical_id(template, "AWS::SQS::Queue", "RenderQueue")]["Properties"]
    dlq_id = logical_id(template, "AWS::SQS::Queue", "RenderDeadLetterQueue")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": SPEC.max_receive_count,
    }
    # AWS's advice for SQS event sources: a visibility timeout of six times the function's timeout.
    assert queue["VisibilityTimeout"] >= 6 * RENDERER_TIMEOUT.to_seconds()


def test_an_alarm_watches_the_render_dead_letters(synthesized: Synthesized) -> None:
    template = synthesized.json()
    dlq_id = logical_id(template, "AWS::SQS::Queue", "RenderDeadLetterQueue")
    (alarm,) = [
        body["Properties"]
        for body in resources(template, "AWS::CloudWatch::Alarm").values()
        if body["Properties"].get("Dimensions")
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
    ]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    assert alarm["TreatMissingData"] == "notBreaching"


def test_a_chalice_consumer_of_the_render_queue_fails_synthesis(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="container renderer's"):
        synth_stub(tmp_path, RENDER_QUEUE)


# --- its role ----------------------------------------------------------------------------------


def test_renderer_role_consumes_only_the_render_queue_and_reads_secrets(synthesized: Synthesized) -> None:
    template = synthesized.json()
    statements = statements_of(template, "RendererRole")
    render_queue = {"Fn::GetAtt": [logical_id(template, "AWS::SQS::Queue", "RenderQueue"), "Arn"]}
    sqs = [s for s in statements if any(a.startswith("sqs:") for a in actions(s))]
    assert sqs and all(s["Resource"] == render_queue for s in sqs)
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage"} <= {a for s in sqs for a in actions(s)}
    assert not [a for s in sqs for a in actions(s) if a.startswith("sqs:Send")]
    granted = {a for s in statements for a in actions(s)}
    assert {
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:GetItem",
        "s3:PutObject",
        "s3:GetObject*",
    } <= (granted)
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= granted
    assert {a for a in granted if a.startswith("secretsmanager:")} == {
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
    }
    assert {a for a in granted if a.startswith("kms:")} == {"kms:Decrypt", "kms:DescribeKey"}
    idempotency = {"Fn::GetAtt": [logical_id(template, "AWS::DynamoDB::Table", "IdempotencyTable"), "Arn"]}
    assert any(
        idempotency in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        and "dynamodb:PutItem" in actions(s)
        for s in statements
    )


# --- its image ---------------------------------------------------------------------------------


def test_image_asset_is_the_renderer_dockerfile_for_x86(synthesized: Synthesized) -> None:
    manifest = json.loads((synthesized.outdir / "dev.assets.json").read_text())
    (image,) = manifest["dockerImages"].values()
    assert image["source"]["dockerFile"] == RENDERER_DOCKERFILE
    assert image["source"]["platform"] == "linux/amd64"
    staged = synthesized.outdir / image["source"]["directory"]
    top = sorted(path.name for path in staged.iterdir())
    assert top == ["chalicelib", "constraints.txt", "infra", "requirements-render.txt", "requirements.txt"]
    assert [p.relative_to(staged).as_posix() for p in (staged / "infra").rglob("*") if p.is_file()] == [
        RENDERER_DOCKERFILE
    ]
    assert not list(staged.rglob("__pycache__")) and not list(staged.rglob("*.pyc"))


def test_build_context_hash_ignores_everything_but_the_image_inputs(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for name in ("chalicelib", "requirements.txt", "requirements-render.txt", "constraints.txt"):
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            root.mkdir(exist_ok=True)
            shutil.copy2(source, root / name)
    (root / "infra" / "renderer").mkdir(parents=True)
    shutil.copy2(DOCKERFILE, root / RENDERER_DOCKERFILE)

    def fingerprint() -> str:
        return cdk.FileSystem.fingerprint(
            str(root), exclude=renderer_build_excludes(), ignore_mode=cdk.IgnoreMode.DOCKER
        )

    before = fingerprint()
    for noise in (
        "cdk.out/asset.x/file",
        "chalice.out/deployment.zip",
        ".venv/lib/site.py",
        "node_modules/x/index.js",
        ".clicktok/state.json",
        "build/layer/python/x.py",
        "tests/test_x.py",
        ".git/HEAD",
        "benchmarks/render.py",
        "local/stack.py",
        "README.md",
        "app.py",
        "infra/stacks/other.py",
        "chalicelib/__pycache__/config.cpython-311.pyc",
        "chalicelib/render/stray.pyc",
    ):
        (root / noise).parent.mkdir(parents=True, exist_ok=True)
        (root / noise).write_text("noise\n")
    assert fingerprint() == before
    for source in (
        "chalicelib/resources.py",
        "requirements-render.txt",
        "constraints.txt",
        RENDERER_DOCKERFILE,
    ):
        with (root / source).open("a") as handle:
            handle.write("\n# changed\n")
        changed = fingerprint()
        assert changed != before, source
        before = changed


def test_dockerfile_builds_what_the_stack_expects() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^FROM public\.ecr\.aws/lambda/python:3\.11\b", text, re.M)
    assert "-r /tmp/requirements/requirements-render.txt -c /tmp/requirements/constraints.txt" in text
    assert "COPY chalicelib/ ${LAMBDA_TASK_ROOT}/chalicelib/" in text
    assert "ENV CLICKTOK_MUSIC_DIR=/opt/clicktok/music" in text
    assert "RUN python -m chalicelib.render.music ${CLICKTOK_MUSIC_DIR}" in text
    (cmd,) = re.findall(r"^CMD (\[.*\])$", text, re.M)
    (handler,) = json.loads(cmd)
    module, function = handler.rsplit(".", 1)
    module_file = REPO_ROOT / (module.replace(".", "/") + ".py")
    assert module_file.is_file(), f"the image's CMD names {handler}, but {module_file} does not exist"
    assert re.search(rf"^(def {function}\(|{function}\s*=)", module_file.read_text(), re.M), handler
    # Everything the Dockerfile copies is in the context the stack sends.
    excludes = renderer_build_excludes()
    for copied in ("chalicelib/", "requirements.txt", "requirements-render.txt", "constraints.txt"):
        assert f"!{copied}" in excludes
    assert f"!{RENDERER_DOCKERFILE}" in excludes
