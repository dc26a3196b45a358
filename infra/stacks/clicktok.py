"""One deployed stage of ClickTok: tables, media bucket, queues, secrets key, layer, the Chalice app and
the renderer (a container-image Lambda fed by the render queue).

Every table, bucket and queue comes from ``chalicelib.resources`` and the PynamoDB models, the same
definitions the local cloud provisions from, so a deployed stage and the local stack cannot drift.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aws_cdk import (
    ArnFormat,
    CfnOutput,
    CfnResource,
    Duration,
    Fn,
    IgnoreMode,
    RemovalPolicy,
    Size,
    Stack,
)
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from chalice.cdk import Chalice
from constructs import Construct

from chalicelib.resources import APP_NAME, BUCKETS, QUEUES, TABLES, QueueSpec
from chalicelib.store.tables import TABLE_MODELS, table_schema
from infra.stages import REPO_ROOT, check_stage, stack_name

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_11
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SECRETS_KMS_KEY_ENV = "CLICKTOK_SECRETS_KMS_KEY_ARN"

# The renderer: a container-image Lambda built from infra/renderer/Dockerfile with the repository
# root as its build context, filtered by the Dockerfile's ignore file (the same list BuildKit reads).
RENDER_QUEUE = "render"
RENDERER_DOCKERFILE = "infra/renderer/Dockerfile"
RENDERER_DOCKERIGNORE = REPO_ROOT / "infra" / "renderer" / "Dockerfile.dockerignore"
RENDERER_SERVICE_NAME = "clicktok-renderer"
# Lambda gives a function CPU in proportion to its memory (one vCPU at 1,769 MB): 3,008 MB is about
# 1.7 vCPUs for ffmpeg's x264 threads, the most every account gets without a quota increase, and
# three times the renderer's measured peak (under 1 GB for 15 s of 1080x1920; benchmarks/render.py).
RENDERER_MEMORY_MB = 3008
# Lambda's ceiling. The render queue's visibility timeout is six times this (chalicelib.resources).
RENDERER_TIMEOUT = Duration.minutes(15)
# Renders work in /tmp: product images, pre-rendered layers, voiceover, the MP4 and its thumbnail.
# A 60 s 1080x1920 video is tens of MB; 4 GB leaves room for concurrent scratch files and leftovers.
RENDERER_EPHEMERAL_STORAGE = Size.gibibytes(4)
# "A batch of a thousand videos is a thousand messages rendered side by side up to a configured
# concurrency": the SQS event source's maximum concurrency (2..1000), which also caps the renderer's
# share of the account's Lambda concurrency.
RENDERER_MAX_CONCURRENCY = 50

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_GATEWAY_ERRORS = (
    ("MISSING_AUTHENTICATION_TOKEN", "404", "not_found", "no route matches this method and path"),
    ("THROTTLED", "429", "rate_limited", "too many requests; retry later"),
    ("REQUEST_TOO_LARGE", "413", "payload_too_large", "request body too large"),
    ("DEFAULT_4XX", None, "bad_request", "$context.error.messageString"),
    ("DEFAULT_5XX", None, "internal_error", "an unexpected error occurred"),
)
_PROJECTIONS = {"ALL": dynamodb.ProjectionType.ALL, "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY}


def _pascal(key: str) -> str:
    return "".join(part.capitalize() for part in key.replace("-", "_").split("_"))


class ClickTokStack(Stack):
    """The stage ``stage`` of ClickTok.

    The construct id is the stage name (the Chalice construct packages the app for the stage its
    scope is named after); the CloudFormation stack is named ``clicktok-{stage}``.

    ``chalice_source_dir`` is a staged copy of the app with an empty requirements.txt
    (``infra.stages.stage_chalice_source``) and ``layer_dir`` a directory whose ``python/`` holds the
    runtime dependencies (``layers/build.py``; tests pass a stand-in).
    """

    def __init__(
        self,
        scope: Construct,
        stage: str,
        *,
        chalice_source_dir: Path,
        layer_dir: Path,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("stack_name", stack_name(stage))
        kwargs.setdefault("description", f"ClickTok {stage}: API, jobs, tables, media and queues")
        super().__init__(scope, check_stage(stage), **kwargs)
        self.stage = stage
        retain = stage == "prod"
        self.removal_policy = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY

        self.tables = {spec.key: self._table(spec.key, retain) for spec in TABLES}
        self.buckets = {spec.key: self._bucket(spec.key) for spec in BUCKETS}
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for spec in QUEUES:
            self.queues[spec.key], self.dead_letter_queues[spec.key] = self._queue(spec)
        self.secrets_prefix = f"{APP_NAME}/{stage}/"
        self.secrets_key = kms.Key(
            self,
            "SecretsKey",
            description=f"ClickTok {stage}: encrypts the Secrets Manager secrets under {self.secrets_prefix}",
            enable_key_rotation=True,
            alias=f"alias/{APP_NAME}/{stage}/secrets",
            removal_policy=self.removal_policy,
            pending_window=Duration.days(30 if retain else 7),
        )
        self.function_role = self._function_role()
        self.layer = lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            code=lambda_.Code.from_asset(str(layer_dir)),
            compatible_runtimes=[LAMBDA_RUNTIME],
            compatible_architectures=[lambda_.Architecture.X86_64],
            description="ClickTok runtime dependencies (requirements.txt)",
        )

        self.runtime_environment: dict[str, str] = {
            "CLICKTOK_STAGE": stage,
            **{spec.env_var: self.tables[spec.key].table_name for spec in TABLES},
            **{spec.env_var: self.buckets[spec.key].bucket_name for spec in BUCKETS},
            **{spec.env_var: self.queues[spec.key].queue_url for spec in QUEUES},
            "CLICKTOK_SECRETS_PREFIX": self.secrets_prefix,
            SECRETS_KMS_KEY_ENV: self.secrets_key.key_arn,
        }
        self._sam: dict[str, Any] | None = None
        self.chalice = self._chalice(chalice_source_dir)
        self.function_ids = self._attach_layer()
        self._bind_queue_event_sources()
        self.renderer = self._renderer()

        if "RestAPI" in self._sam_template()["Resources"]:
            rest_api = self.chalice.get_resource("RestAPI")
            self._gateway_errors_in_our_shape(rest_api)
            CfnOutput(
                self,
                "ApiUrl",
                description="Base URL of the HTTP API",
                value=Fn.sub(
                    "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api/", {"Api": rest_api.ref}
                ),
            )
        CfnOutput(
            self,
            "RuntimeEnvironment",
            description="Environment (JSON) that points the clicktok CLI at this stage's resources",
            value=self.to_json_string(self.runtime_environment),
        )

    def _gateway_errors_in_our_shape(self, rest_api: CfnResource) -> None:
        """Errors API Gateway answers itself (unknown route, throttling, its own 5xx) in the API's
        one error shape; an unknown route is a 404, not API Gateway's "Missing Authentication Token"."""
        for response_type, status, code, message in _GATEWAY_ERRORS:
            body = {
                "error": {
                    "code": code,
                    "message": message,
                    "details": None,
                    "request_id": "$context.requestId",
                }
            }
            apigateway.CfnGatewayResponse(
                self,
                f"GatewayResponse{_pascal(response_type.lower())}",
                rest_api_id=rest_api.ref,
                response_type=response_type,
                status_code=status,
                response_templates={"application/json": json.dumps(body)},
            )

    # --- data -----------------------------------------------------------------------------------

    def _table(self, key: str, retain: bool) -> dynamodb.Table:
        schema = table_schema(TABLE_MODELS[key])

        def attribute(name: str) -> dynamodb.Attribute:
            return dynamodb.Attribute(name=name, type=_ATTRIBUTE_TYPES[schema["attribute_types"][name]])

        table = dynamodb.Table(
            self,
            f"{_pascal(key)}Table",
            partition_key=attribute(schema["hash_key"]),
            sort_key=attribute(schema["range_key"]) if schema["range_key"] else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=schema["ttl_attribute"],
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=retain,
            removal_policy=self.removal_policy,
        )
        for index in schema["global_secondary_indexes"]:
            if index["projection"] not in _PROJECTIONS:
                raise ValueError(f"table {key}: index {index['name']} projection {index['projection']}")
            table.add_global_secondary_index(
                index_name=index["name"],
                partition_key=attribute(index["hash_key"]),
                sort_key=attribute(index["range_key"]) if index["range_key"] else None,
                projection_type=_PROJECTIONS[index["projection"]],
            )
        return table

    def _bucket(self, key: str) -> s3.Bucket:
        return s3.Bucket(
            self,
            f"{_pascal(key)}Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=False,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="abort-incomplete-multipart-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(2),
                )
            ],
            removal_policy=self.removal_policy,
        )

    def _queue(self, spec: QueueSpec) -> tuple[sqs.Queue, sqs.Queue]:
        name = _pascal(spec.key)
        dead_letters = sqs.Queue(
            self,
            f"{name}DeadLetterQueue",
            retention_period=Duration.days(spec.dlq_retention_days),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            removal_policy=self.removal_policy,
        )
        queue = sqs.Queue(
            self,
            f"{name}Queue",
            visibility_timeout=Duration.seconds(spec.visibility_timeout_seconds),
            retention_period=Duration.days(spec.retention_days),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=spec.max_receive_count, queue=dead_letters
            ),
            removal_policy=self.removal_policy,
        )
        return queue, dead_letters

    # --- the functions' role ----------------------------------------------------------------------

    def _function_role(self) -> iam.Role:
        role = iam.Role(
            self,
            "FunctionRole",
            description=f"ClickTok {self.stage}: the role of every Chalice function",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")
            ],
        )
        for table in self.tables.values():
            table.grant_read_write_data(role)
        for bucket in self.buckets.values():
            bucket.grant_read_write(role)
        for queue in self.queues.values():
            queue.grant_send_messages(role)
            queue.grant_consume_messages(role)
        secrets_arn = self._secrets_arn()
        role.add_to_policy(
            iam.PolicyStatement(
                sid="StageSecrets",
                actions=[
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:CreateSecret",
                    "secretsmanager:DeleteSecret",
                    "secretsmanager:DescribeSecret",
                ],
                resources=[secrets_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="StageSecretsKey",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[self.secrets_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com"}
                },
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="XRayTraces",
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],  # X-Ray has no resource-level permissions
            )
        )
        return role

    def _secrets_arn(self) -> str:
        return self.format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{self.secrets_prefix}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    # --- the Chalice app --------------------------------------------------------------------------

    def _chalice(self, source_dir: Path) -> Chalice:
        stage_config = {
            "api_gateway_stage": "api",
            "manage_iam_role": False,
            "iam_role_arn": self.function_role.role_arn,
            "xray": True,
            "environment_variables": self._function_environment(APP_NAME),
        }
        # Packaging imports app.py and copies the stage's variables (CDK tokens) into os.environ and
        # the source dir into sys.path; keep this process as it was.
        with _preserved_process_state():
            return Chalice(self, "ChaliceApp", source_dir=str(source_dir), stage_config=stage_config)

    def _function_environment(self, service_name: str) -> dict[str, str]:
        """What every function's environment holds: the stage's resources and Powertools' settings."""
        return {
            **self.runtime_environment,
            "POWERTOOLS_SERVICE_NAME": service_name,
            "POWERTOOLS_METRICS_NAMESPACE": "ClickTok",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_LOGGER_LOG_EVENT": "false",
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
        }

    def _sam_template(self) -> dict[str, Any]:
        """The template ``chalice package`` wrote (chalice 1.34 keeps it in ``_sam_package_dir``)."""
        if self._sam is None:
            self._sam = json.loads((Path(self.chalice._sam_package_dir) / "sam.json").read_text())
        return self._sam

    def _generated(self, resource_type: str) -> dict[str, CfnResource]:
        return {
            child.node.id: child
            for child in self.chalice.sam_template.node.children
            if isinstance(child, CfnResource) and child.cfn_resource_type == resource_type
        }

    def _attach_layer(self) -> list[str]:
        """Put the layer, the runtime, the architecture and a log group with retention on every function."""
        functions = self._generated(SERVERLESS_FUNCTION)
        for logical_id, function in functions.items():
            log_group = self._log_group(f"{logical_id}Logs")
            function.add_property_override("LoggingConfig", {"LogGroup": log_group.log_group_name})
            function.add_property_override("Layers", [self.layer.layer_version_arn])
            function.add_property_override("Runtime", LAMBDA_RUNTIME.name)
            function.add_property_override("Architectures", ["x86_64"])
        return sorted(functions)

    def _log_group(self, construct_id: str) -> logs.LogGroup:
        retention = logs.RetentionDays.THREE_MONTHS if self.stage == "prod" else logs.RetentionDays.ONE_MONTH
        return logs.LogGroup(self, construct_id, retention=retention, removal_policy=self.removal_policy)

    def _bind_queue_event_sources(self) -> None:
        """Point each generated SQS event source at this stage's queue.

        The batch size comes from the queue's spec, and handlers report partial batch failures
        (``ReportBatchItemFailures``, which Chalice cannot set).

        ``@app.on_sqs_message(queue=...)`` names a queue by the spec key (``sync``) or any name
        ending in ``-{key}`` (``clicktok-local-sync``); the deployed queue's name is CloudFormation's.
        """
        for logical_id in self.function_ids:
            events = self._sam_template()["Resources"][logical_id]["Properties"].get("Events", {})
            for event_id, event in events.items():
                if event.get("Type") != "SQS":
                    continue
                name = _queue_name(event["Properties"]["Queue"])
                spec = next((s for s in QUEUES if name == s.key or name.endswith(f"-{s.key}")), None)
                if spec is None:
                    raise ValueError(
                        f"{logical_id}: SQS event source names queue {name!r}, which is none of "
                        f"{[s.key for s in QUEUES]} (chalicelib.resources.QUEUES)"
                    )
                if spec.key == RENDER_QUEUE:
                    raise ValueError(
                        f"{logical_id}: the {RENDER_QUEUE!r} queue is the container renderer's "
                        "(ClickTokStack._renderer); a second consumer would take its messages"
                    )
                function = self.chalice.get_resource(logical_id)
                prefix = f"Events.{event_id}.Properties"
                function.add_property_override(f"{prefix}.Queue", self.queues[spec.key].queue_arn)
                function.add_property_override(f"{prefix}.FunctionResponseTypes", ["ReportBatchItemFailures"])
                function.add_property_override(f"{prefix}.BatchSize", spec.batch_size)

    # --- the renderer -----------------------------------------------------------------------------

    def _renderer(self) -> lambda_.DockerImageFunction:
        """The container-image Lambda that renders videos from the render queue.

        Its image is an asset: ``cdk synth`` only stages the filtered build context and records its
        hash (no Docker needed); ``cdk deploy`` builds and pushes it. It has a role of its own, with
        less than the Chalice functions' role: no sends to any queue, only reads of the stage's
        secrets (voiceover credentials), and consumption of the render queue alone.
        """
        spec = next(s for s in QUEUES if s.key == RENDER_QUEUE)
        queue = self.queues[RENDER_QUEUE]
        role = self._renderer_role()
        function = lambda_.DockerImageFunction(
            self,
            "Renderer",
            description=f"ClickTok {self.stage}: renders product videos and thumbnails from the render queue",
            code=lambda_.DockerImageCode.from_image_asset(
                str(REPO_ROOT),
                file=RENDERER_DOCKERFILE,
                exclude=renderer_build_excludes(),
                ignore_mode=IgnoreMode.DOCKER,
                platform=ecr_assets.Platform.LINUX_AMD64,
            ),
            architecture=lambda_.Architecture.X86_64,
            memory_size=RENDERER_MEMORY_MB,
            timeout=RENDERER_TIMEOUT,
            ephemeral_storage_size=RENDERER_EPHEMERAL_STORAGE,
            environment=self._function_environment(RENDERER_SERVICE_NAME),
            role=role,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self._log_group("RendererLogs"),
        )
        # The function waits for its role's policy; the role itself it reaches through Fn::GetAtt, so
        # CDK's DependsOn on the role is redundant (cfn-lint W3005).
        policy = role.node.find_child("DefaultPolicy").node.default_child
        function.node.default_child.add_override("DependsOn", [self.get_logical_id(policy)])
        function.add_event_source(
            event_sources.SqsEventSource(
                queue,
                batch_size=spec.batch_size,
                report_batch_item_failures=True,
                max_concurrency=RENDERER_MAX_CONCURRENCY,
            )
        )
        dead_letters = self.dead_letter_queues[RENDER_QUEUE]
        cloudwatch.Alarm(
            self,
            "RenderDeadLettersAlarm",
            alarm_description=(
                f"ClickTok {self.stage}: render jobs failed {spec.max_receive_count} times and sit in the "
                "render dead-letter queue"
            ),
            metric=dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        CfnOutput(
            self, "RendererFunctionName", description="The renderer Lambda", value=function.function_name
        )
        return function

    def _renderer_role(self) -> iam.Role:
        role = iam.Role(
            self,
            "RendererRole",
            description=f"ClickTok {self.stage}: the role of the renderer (container-image Lambda)",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaBasicExecutionRole")
            ],
        )
        # Jobs, products, audit and the Powertools idempotency records; the event source grants the
        # render queue's consume actions and tracing grants X-Ray's.
        for table in self.tables.values():
            table.grant_read_write_data(role)
        self.buckets["media"].grant_read_write(role)
        role.add_to_policy(
            iam.PolicyStatement(
                sid="StageSecretsRead",
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[self._secrets_arn()],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="StageSecretsKeyDecrypt",
                actions=["kms:Decrypt", "kms:DescribeKey"],
                resources=[self.secrets_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com"}
                },
            )
        )
        return role


def renderer_build_excludes() -> list[str]:
    """The renderer image's exclude list: the lines of ``infra/renderer/Dockerfile.dockerignore``."""
    lines = RENDERER_DOCKERIGNORE.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _queue_name(queue: Any) -> str:
    if isinstance(queue, dict) and "Fn::Sub" in queue:
        queue = queue["Fn::Sub"]
    if not isinstance(queue, str):
        raise ValueError(f"cannot tell which queue an SQS event source reads: {queue!r}")
    return queue.rsplit(":", 1)[-1]


@contextlib.contextmanager
def _preserved_process_state() -> Iterator[None]:
    environ = dict(os.environ)
    path = list(sys.path)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(environ)
        sys.path[:] = path
