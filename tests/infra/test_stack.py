"""The synthesized stack: what each resource must be, checked on the dev and prod templates."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match, Template

from chalicelib.resources import BUCKETS, QUEUES, TABLES
from chalicelib.store.tables import TABLE_MODELS, table_schema
from infra.stacks import ClickTokStack
from infra.stacks.clicktok import SECRETS_KMS_KEY_ENV
from infra.stages import STAGES, check_stage, stage_chalice_source
from tests.infra.conftest import Synthesized, stand_in_layer

pytestmark = pytest.mark.xdist_group("infra")

RUNTIME_ENV_NAMES = {
    "CLICKTOK_STAGE",
    "CLICKTOK_SECRETS_PREFIX",
    *(spec.env_var for spec in (*TABLES, *BUCKETS, *QUEUES)),
}


def resources(template: dict, kind: str) -> dict[str, dict]:
    return {name: body for name, body in template["Resources"].items() if body["Type"] == kind}


def logical_id(template: dict, kind: str, prefix: str) -> str:
    (found,) = [name for name in resources(template, kind) if name.startswith(prefix)]
    return found


def join_to_json(value: Any) -> dict[str, str]:
    """Read an Fn::Join'ed JSON document, with every CloudFormation reference as ``<ref>``."""
    parts = value["Fn::Join"][1] if isinstance(value, dict) else [value]
    return json.loads("".join(part if isinstance(part, str) else "<ref>" for part in parts))


# --- data --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(TABLE_MODELS))
def test_each_table_follows_its_model(synthesized: Synthesized, key: str) -> None:
    schema = table_schema(TABLE_MODELS[key])

    def key_schema(hash_key: str, range_key: str | None) -> list[dict[str, str]]:
        keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        if range_key:
            keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
        return keys

    template = synthesized.json()
    table = template["Resources"][logical_id(template, "AWS::DynamoDB::Table", f"{key.capitalize()}Table")]
    properties = table["Properties"]
    assert properties["KeySchema"] == key_schema(schema["hash_key"], schema["range_key"])
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert {item["AttributeName"]: item["AttributeType"] for item in properties["AttributeDefinitions"]} == (
        schema["attribute_types"]
    )
    if schema["ttl_attribute"]:
        assert properties["TimeToLiveSpecification"] == {
            "AttributeName": schema["ttl_attribute"],
            "Enabled": True,
        }
    else:
        assert "TimeToLiveSpecification" not in properties
    indexes = {
        index["IndexName"]: (index["KeySchema"], index["Projection"])
        for index in properties.get("GlobalSecondaryIndexes", [])
    }
    assert indexes == {
        index["name"]: (
            key_schema(index["hash_key"], index["range_key"]),
            {"ProjectionType": index["projection"]},
        )
        for index in schema["global_secondary_indexes"]
    }


def test_tables_count_and_removal_policy(synthesized: Synthesized) -> None:
    for stage, policy in (("dev", "Delete"), ("prod", "Retain")):
        tables = resources(synthesized.json(stage), "AWS::DynamoDB::Table")
        assert len(tables) == len(TABLES)
        assert {body["DeletionPolicy"] for body in tables.values()} == {policy}
        assert {body["Properties"].get("DeletionProtectionEnabled", False) for body in tables.values()} == {
            stage == "prod"
        }


def test_media_bucket_is_private_encrypted_and_tls_only(synthesized: Synthesized) -> None:
    template = synthesized.templates["dev"]
    template.resource_count_is("AWS::S3::Bucket", len(BUCKETS))
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": Match.any_value()}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [
                        Match.object_like(
                            {"AbortIncompleteMultipartUpload": Match.any_value(), "Status": "Enabled"}
                        )
                    ]
                )
            },
        },
    )
    template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Action": "s3:*",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


@pytest.mark.parametrize("spec", QUEUES, ids=[spec.key for spec in QUEUES])
def test_each_queue_has_its_spec_and_a_dead_letter_queue(synthesized: Synthesized, spec: Any) -> None:
    template = synthesized.json()
    queue_id = logical_id(template, "AWS::SQS::Queue", f"{spec.key.capitalize()}Queue")
    dlq_id = logical_id(template, "AWS::SQS::Queue", f"{spec.key.capitalize()}DeadLetterQueue")
    queue = template["Resources"][queue_id]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": spec.max_receive_count,
    }
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_seconds
    assert queue["MessageRetentionPeriod"] == spec.retention_days * 86400
    assert queue["SqsManagedSseEnabled"] is True
    dlq = template["Resources"][dlq_id]["Properties"]
    assert dlq["MessageRetentionPeriod"] == spec.dlq_retention_days * 86400
    assert dlq["SqsManagedSseEnabled"] is True
    for target in (queue_id, dlq_id):
        synthesized.templates["dev"].has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": target}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                            )
                        ]
                    )
                },
            },
        )


def test_secrets_key_rotates(synthesized: Synthesized) -> None:
    template = synthesized.templates["dev"]
    template.resource_count_is("AWS::KMS::Key", 1)
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/clicktok/dev/secrets"})


# --- functions ---------------------------------------------------------------------------------


def test_every_function_has_the_layer_runtime_role_and_environment(synthesized: Synthesized) -> None:
    template = synthesized.json()
    functions = resources(template, "AWS::Serverless::Function")
    assert functions, "the Chalice app generated no functions"
    layer_id = logical_id(template, "AWS::Lambda::LayerVersion", "DependenciesLayer")
    role_id = logical_id(template, "AWS::IAM::Role", "FunctionRole")
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["Layers"] == [{"Ref": layer_id}], name
        assert properties["Runtime"] == "python3.11", name
        assert properties["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}, name
        assert properties["Tracing"] == "Active", name
        log_group = template["Resources"][properties["LoggingConfig"]["LogGroup"]["Ref"]]
        assert log_group["Type"] == "AWS::Logs::LogGroup", name
        assert log_group["Properties"]["RetentionInDays"] == 30, name
        variables = properties["Environment"]["Variables"]
        assert RUNTIME_ENV_NAMES | {SECRETS_KMS_KEY_ENV} <= set(variables), name
        assert variables["CLICKTOK_STAGE"] == "dev"
        assert variables["CLICKTOK_SECRETS_PREFIX"] == "clicktok/dev/"
        assert {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"} <= set(variables)
        for spec in TABLES:
            assert variables[spec.env_var]["Ref"].startswith(f"{spec.key.capitalize()}Table")
        for spec in QUEUES:
            assert variables[spec.env_var]["Ref"].startswith(f"{spec.key.capitalize()}Queue")
    synthesized.templates["dev"].has_resource_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleRuntimes": ["python3.11"], "CompatibleArchitectures": ["x86_64"]},
    )


def test_layer_asset_is_the_stand_in(synthesized: Synthesized) -> None:
    assert list(synthesized.outdir.glob("asset.*/python/LAYER_STAND_IN"))


def test_no_role_or_policy_but_the_stacks_own(synthesized: Synthesized) -> None:
    template = synthesized.json()
    assert sorted(resources(template, "AWS::IAM::Role")) == sorted(
        [
            logical_id(template, "AWS::IAM::Role", "FunctionRole"),
            logical_id(template, "AWS::IAM::Role", "RendererRole"),
        ]
    )
    for role in resources(template, "AWS::IAM::Role").values():
        properties = role["Properties"]
        assert properties["AssumeRolePolicyDocument"]["Statement"] == [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
        ]
        (managed,) = properties["ManagedPolicyArns"]
        assert json.dumps(managed).endswith(':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]]}')


def test_role_policies_name_specific_resources(synthesized: Synthesized) -> None:
    template = synthesized.json()
    statements = [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all(action != "*" and not action.endswith(":*") for action in actions), statement
        targets = (
            statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        )
        if "*" in targets:
            assert all(action.startswith("xray:") for action in actions), statement
    secrets = [s for s in statements if any(a.startswith("secretsmanager:") for a in s["Action"])]
    assert len(secrets) == 2  # the functions' role and the renderer's
    for secrets_statement in secrets:
        assert json.dumps(secrets_statement["Resource"]).endswith(':secret:clicktok/dev/*"]]}')
    kms_statements = [s for s in statements if any(a.startswith("kms:") for a in s["Action"])]
    key_id = logical_id(template, "AWS::KMS::Key", "SecretsKey")
    assert [s["Resource"] for s in kms_statements] == [{"Fn::GetAtt": [key_id, "Arn"]}] * 2


def test_prod_names_its_own_stage(synthesized: Synthesized) -> None:
    template = synthesized.json("prod")
    for function in resources(template, "AWS::Serverless::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["CLICKTOK_STAGE"] == "prod"
        assert variables["CLICKTOK_SECRETS_PREFIX"] == "clicktok/prod/"
    assert synthesized.stacks["prod"].stack_name == "clicktok-prod"
    assert synthesized.stacks["dev"].stack_name == "clicktok-dev"


# --- outputs -----------------------------------------------------------------------------------


def test_runtime_environment_output_names_every_resource(synthesized: Synthesized) -> None:
    outputs = synthesized.json()["Outputs"]
    environment = join_to_json(outputs["RuntimeEnvironment"]["Value"])
    assert set(environment) >= RUNTIME_ENV_NAMES
    assert environment["CLICKTOK_STAGE"] == "dev"
    assert environment["CLICKTOK_SECRETS_PREFIX"] == "clicktok/dev/"
    assert all(environment[spec.env_var] == "<ref>" for spec in (*TABLES, *BUCKETS, *QUEUES))


def test_api_url_output_when_the_app_has_routes(synthesized: Synthesized) -> None:
    template = synthesized.json()
    if "RestAPI" not in template["Resources"]:
        pytest.skip("the app has no HTTP routes")
    assert template["Outputs"]["ApiUrl"]["Value"] == {
        "Fn::Sub": [
            "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/",
            {"Api": {"Ref": "RestAPI"}},
        ]
    }


# --- process hygiene and helpers -----------------------------------------------------------------


def test_synthesis_leaves_the_process_environment_alone(synthesized: Synthesized) -> None:
    assert synthesized.stacks
    assert not [name for name, value in os.environ.items() if "${Token[" in value]
    assert not [entry for entry in sys.path if entry.endswith("chalice-src")]


def test_stages() -> None:
    assert set(STAGES) >= {"dev", "prod"}
    chalice_stages = json.loads(Path(".chalice/config.json").read_text())["stages"]
    assert set(STAGES) <= set(chalice_stages)
    with pytest.raises(ValueError, match="unknown stage"):
        check_stage("qa")


def test_staged_source_has_empty_requirements(tmp_path: Path) -> None:
    staged = stage_chalice_source(tmp_path / "src")
    assert (staged / "requirements.txt").read_text() == ""
    assert (staged / "app.py").is_file()
    assert (staged / ".chalice" / "config.json").is_file()
    assert (staged / "chalicelib" / "resources.py").is_file()
    assert not list(staged.rglob("__pycache__"))


# --- SQS event sources, with a stand-in app ------------------------------------------------------

STUB_APP = """
from chalice import Chalice

app = Chalice(app_name="clicktok")


@app.route("/health")
def health():
    return {}


@app.on_sqs_message(queue=QUEUE, batch_size=10)
def consume(event):
    return None
"""


def synth_stub(tmp_path: Path, queue: str) -> dict:
    source = tmp_path / "src"
    (source / ".chalice").mkdir(parents=True)
    (source / ".chalice" / "config.json").write_text(Path(".chalice/config.json").read_text())
    (source / "requirements.txt").write_text("")
    code = STUB_APP.replace("QUEUE", repr(queue))
    (source / "app.py").write_text(code)
    module = types.ModuleType("app")
    module.__file__ = str(source / "app.py")
    exec(compile(code, module.__file__, "exec"), module.__dict__)
    previous = sys.modules.get("app")
    sys.modules["app"] = module
    try:
        app = cdk.App(outdir=str(tmp_path / "cdk.out"))
        with contextlib.chdir(tmp_path):
            stack = ClickTokStack(
                app, "dev", chalice_source_dir=source, layer_dir=stand_in_layer(tmp_path / "layer")
            )
        return Template.from_stack(stack).to_json()
    finally:
        if previous is None:
            sys.modules.pop("app", None)
        else:
            sys.modules["app"] = previous


def test_sqs_event_source_reads_the_stage_queue(tmp_path: Path) -> None:
    spec = QUEUES[0]
    template = synth_stub(tmp_path, f"clicktok-local-{spec.key}")
    queue_id = logical_id(template, "AWS::SQS::Queue", f"{spec.key.capitalize()}Queue")
    consume = template["Resources"]["Consume"]["Properties"]
    (event,) = consume["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["BatchSize"] == spec.batch_size
    assert "ApiUrl" in template["Outputs"]


def test_sqs_event_source_of_an_unknown_queue_fails_synthesis(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="names queue 'elsewhere'"):
        synth_stub(tmp_path, "elsewhere")


def test_api_gateway_answers_its_own_errors_in_the_api_error_shape(synthesized: Synthesized) -> None:
    responses = resources(synthesized.json(), "AWS::ApiGateway::GatewayResponse")
    by_type = {body["Properties"]["ResponseType"]: body["Properties"] for body in responses.values()}
    assert set(by_type) >= {"MISSING_AUTHENTICATION_TOKEN", "THROTTLED", "DEFAULT_4XX", "DEFAULT_5XX"}
    unknown_route = by_type["MISSING_AUTHENTICATION_TOKEN"]
    assert unknown_route["StatusCode"] == "404"
    body = json.loads(unknown_route["ResponseTemplates"]["application/json"])
    assert body["error"]["code"] == "not_found"
    assert body["error"]["request_id"] == "$context.requestId"
    assert unknown_route["RestApiId"] == {"Ref": "RestAPI"}
