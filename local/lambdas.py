"""The in-process Lambda executor: runs the Chalice app's handlers where moto would start Docker.

moto runs Lambda code only in Docker. Every path into a Lambda function (the Invoke API, Step
Functions tasks, SQS event-source mappings, S3 notifications, EventBridge rules that target
Lambda) ends in ``moto.awslambda.models.LambdaFunction._invoke_lambda(self, event)``, which returns
``(payload, errored, logs)``. :func:`install_lambda_shim` replaces that one method with a lookup in
:data:`REGISTRY` (function name -> ``handler(event, context)``) and an in-process call.
``tests/local/test_moto_guards.py`` fails loudly when moto changes that contract.

moto's EventBridge delivers to Lambda and Step Functions targets only for its own S3 notifications;
``put_events`` raises on such targets. :func:`install_eventbridge_shim` wraps
``moto.events.models.Rule.send_to_targets`` so those targets work too (Lambda asynchronously,
through the same shim), and :func:`register_event_rules` creates a rule per ``@app.on_cw_event``.
Schedules never fire in moto; ``local/pumps.py`` has the ticker for ``@app.schedule``.

:func:`register_app_functions` creates one moto Lambda function per ``@app.lambda_function(name=...)``
named like Chalice deploys it, ``clicktok-<stage>-<name>``, with a dummy zip, and registers the
handler. It needs moto to be the IAM and Lambda endpoint of the given clients.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import threading
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from chalice import Chalice

log = logging.getLogger("clicktok.local.lambdas")

Handler = Callable[[Any, Any], Any]

ACCOUNT_ID = "123456789012"
LAMBDA_ROLE_NAME = "clicktok-local-lambda"

REGISTRY: dict[str, Handler] = {}
_REGISTRY_LOCK = threading.Lock()
_ORIGINAL_INVOKE: Callable[..., tuple[str, bool, str]] | None = None


class LambdaContext:
    """What a Python Lambda handler receives as ``context`` (the fields Powertools and Chalice read)."""

    def __init__(
        self,
        function_name: str,
        region: str = "us-east-1",
        memory_limit_in_mb: int = 512,
        timeout_seconds: int = 30,
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid4().hex
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def app_of(module: ModuleType) -> Chalice:
    app = getattr(module, "app", None)
    if not isinstance(app, Chalice):
        raise TypeError(f"module {module.__name__} has no Chalice object named 'app'")
    return app


def resolve_handler(app_module: ModuleType, handler_string: str) -> Handler:
    """The module-level callable behind a Chalice ``handler_string`` such as ``app.handle_sync``.

    ``app.`` means the app module itself (whatever it is called, so test fixtures work); any
    other prefix is a blueprint module, imported by name.
    """
    module_name, _, attribute = handler_string.rpartition(".")
    module = app_module if module_name in ("", "app") else importlib.import_module(module_name)
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise LookupError(f"handler {handler_string!r} is not a callable in module {module.__name__}")
    return handler


def configured_timeout(app_module: ModuleType, name: str, stage: str, default: int = 30) -> int:
    """The ``lambda_timeout`` Chalice deploys function ``name`` with (``.chalice/config.json`` next
    to the app: the stage's function setting, the function's, the stage's, then the top level).

    Handlers read it through ``context.get_remaining_time_in_millis()`` (a sync run hands over to a
    fresh invocation when little is left), so the local pumps must give them the same budget."""
    source = getattr(app_module, "__file__", None)
    if not source:
        return default
    path = Path(source).parent / ".chalice" / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return default
    stage_config = config.get("stages", {}).get(stage, {})
    for scope in (
        stage_config.get("lambda_functions", {}).get(name, {}),
        config.get("lambda_functions", {}).get(name, {}),
        stage_config,
        config,
    ):
        if "lambda_timeout" in scope:
            return int(scope["lambda_timeout"])
    return default


def function_name(stage: str, name: str, app_name: str = "clicktok") -> str:
    """The name Chalice gives a deployed function: ``<app>-<stage>-<name>``."""
    return f"{app_name}-{stage}-{name}"


def error_payload(exc: BaseException) -> dict[str, Any]:
    """The payload Lambda's Python runtime returns for an unhandled exception."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_exception(exc)[1:],
    }


def invoke_registered(name: str, event: Any) -> tuple[str, bool]:
    """Run the handler registered as ``name``; returns (JSON payload, errored)."""
    with _REGISTRY_LOCK:
        handler = REGISTRY.get(name)
    if handler is None:
        missing = LookupError(f"no local handler registered for Lambda function {name!r}")
        return json.dumps(error_payload(missing)), True
    try:
        result = handler(event, LambdaContext(name))
    except Exception as exc:
        log.exception("Lambda function %s failed", name)
        return json.dumps(error_payload(exc)), True
    return json.dumps(result, default=str), False


def _shim_invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
    # moto passes the JSON-decoded request body, or the string "{}" when the body was empty.
    if event is None or event == "{}":
        event = {}
    payload, errored = invoke_registered(self.function_name, event)
    return payload, errored, ""


def install_lambda_shim() -> None:
    """Route moto's Lambda invocations to :data:`REGISTRY` (idempotent)."""
    global _ORIGINAL_INVOKE
    from moto.awslambda.models import LambdaFunction

    if _ORIGINAL_INVOKE is None:
        _ORIGINAL_INVOKE = LambdaFunction._invoke_lambda
    LambdaFunction._invoke_lambda = _shim_invoke_lambda  # type: ignore[method-assign]


def uninstall_lambda_shim() -> None:
    global _ORIGINAL_INVOKE
    from moto.awslambda.models import LambdaFunction

    if _ORIGINAL_INVOKE is not None:
        LambdaFunction._invoke_lambda = _ORIGINAL_INVOKE  # type: ignore[method-assign]
        _ORIGINAL_INVOKE = None


def register_handler(name: str, handler: Handler) -> None:
    with _REGISTRY_LOCK:
        REGISTRY[name] = handler


def clear_registry() -> None:
    with _REGISTRY_LOCK:
        REGISTRY.clear()


def _dummy_zip(handler_string: str) -> bytes:
    module, _, attribute = handler_string.rpartition(".")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            f"{module or 'app'}.py",
            f"def {attribute}(event, context):\n    raise RuntimeError('runs in-process locally')\n",
        )
    return buffer.getvalue()


def ensure_lambda_role(iam: Any) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        return iam.get_role(RoleName=LAMBDA_ROLE_NAME)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=LAMBDA_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]


def register_app_functions(
    app_module: ModuleType, stage: str, lambda_client: Any, iam: Any
) -> dict[str, str]:
    """Create a moto function per ``@app.lambda_function`` and register its handler.

    Returns ``{chalice name: function ARN}``. Idempotent: existing functions are kept.
    """
    app = app_of(app_module)
    role_arn = ensure_lambda_role(iam)
    arns: dict[str, str] = {}
    for function in app.pure_lambda_functions:
        physical = function_name(stage, function.name, app.app_name)
        register_handler(physical, resolve_handler(app_module, function.handler_string))
        arns[function.name] = _ensure_function(lambda_client, physical, function.handler_string, role_arn)
    return arns


_ORIGINAL_SEND_TO_TARGETS: Callable[..., None] | None = None


def _shim_send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
    """moto's ``Rule.send_to_targets``, plus Lambda and Step Functions targets (moto raises on those).

    Lambda targets are invoked asynchronously (as EventBridge does) through moto's Lambda backend,
    hence through the in-process shim; Step Functions targets start an execution.
    """
    import copy

    from moto.events import notifications
    from moto.utilities.arns import parse_arn

    assert _ORIGINAL_SEND_TO_TARGETS is not None
    if not self.event_pattern.matches_event(original_event):
        return
    ours = [t for t in self.targets if parse_arn(t["Arn"]).service in ("lambda", "states")]
    others = [t for t in self.targets if t not in ours]
    for target in ours:
        event = _target_input(target, original_event) if transform_input else dict(original_event)
        arn = parse_arn(target["Arn"])
        if arn.service == "lambda":
            threading.Thread(
                target=notifications._invoke_lambda,
                args=(self.account_id, target["Arn"], event),
                name=f"eventbridge-{arn.resource_id}",
                daemon=True,
            ).start()
        else:
            notifications._start_sfn_execution(self.account_id, arn.region, target["Arn"], event)
    if others:
        rest = copy.copy(self)
        rest.targets = others
        _ORIGINAL_SEND_TO_TARGETS(rest, original_event, transform_input)


def _target_input(target: Mapping[str, Any], original_event: Mapping[str, Any]) -> Any:
    """What EventBridge sends a target: the whole event (``time`` in ISO form), or the target's
    ``Input``, ``InputPath`` or ``InputTransformer``."""
    from moto.events.models import EventTemplateParser

    if "InputTransformer" in target:  # moto's parser wants moto's own event, ingestion-time and all
        transformer = target["InputTransformer"]
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=original_event,  # type: ignore[arg-type]
        )
    event = dict(original_event)
    if isinstance(event.get("time"), int | float):
        event["time"] = datetime.fromtimestamp(event["time"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    event.pop("ingestion-time", None)
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return matches[0].value if matches else None
    return event


def install_eventbridge_shim() -> None:
    """Let EventBridge rules deliver to Lambda functions and state machines (idempotent)."""
    global _ORIGINAL_SEND_TO_TARGETS
    from moto.events.models import Rule

    if _ORIGINAL_SEND_TO_TARGETS is None:
        _ORIGINAL_SEND_TO_TARGETS = Rule.send_to_targets
    Rule.send_to_targets = _shim_send_to_targets  # type: ignore[method-assign]


def uninstall_eventbridge_shim() -> None:
    global _ORIGINAL_SEND_TO_TARGETS
    from moto.events.models import Rule

    if _ORIGINAL_SEND_TO_TARGETS is not None:
        Rule.send_to_targets = _ORIGINAL_SEND_TO_TARGETS  # type: ignore[method-assign]
        _ORIGINAL_SEND_TO_TARGETS = None


def register_event_rules(
    app_module: ModuleType, stage: str, lambda_client: Any, iam: Any, events: Any
) -> int:
    """One rule on the default bus per ``@app.on_cw_event(pattern)``, targeting a moto function
    ``clicktok-<stage>-<name>`` that runs the handler in-process. Returns how many."""
    from chalice.app import CloudWatchEventConfig

    app = app_of(app_module)
    role_arn = ensure_lambda_role(iam)
    count = 0
    for config in app.event_sources:
        if not isinstance(config, CloudWatchEventConfig):
            continue
        physical = function_name(stage, config.name, app.app_name)
        register_handler(physical, resolve_handler(app_module, config.handler_string))
        arn = _ensure_function(lambda_client, physical, config.handler_string, role_arn)
        events.put_rule(Name=physical, EventPattern=json.dumps(config.event_pattern), State="ENABLED")
        events.put_targets(Rule=physical, Targets=[{"Id": "handler", "Arn": arn}])
        count += 1
    return count


def _ensure_function(lambda_client: Any, physical: str, handler_string: str, role_arn: str) -> str:
    try:
        return lambda_client.get_function(FunctionName=physical)["Configuration"]["FunctionArn"]
    except lambda_client.exceptions.ResourceNotFoundException:
        return lambda_client.create_function(
            FunctionName=physical,
            Runtime="python3.11",
            Role=role_arn,
            Handler=handler_string,
            Code={"ZipFile": _dummy_zip(handler_string)},
            Timeout=30,
            MemorySize=512,
        )["FunctionArn"]
