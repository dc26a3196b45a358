"""Step Functions state machines from ``infra/workflows/*.asl.json``, created in moto.

Placeholder convention (shared with the CDK stack, which passes the same names as
``definition_substitutions``, so one ASL file serves both):

* ``${<Name>FunctionArn}``: the ARN of ``@app.lambda_function(name="<name>")``, ``<Name>`` being
  the name in PascalCase (``publish_step`` -> ``${PublishStepFunctionArn}``). Matching ignores
  case, ``_`` and ``-``.
* ``${<Key>TableName}``, ``${<Key>BucketName}``, ``${<Key>QueueUrl}``: the resources of
  ``chalicelib/resources.py`` by logical key (``${EntitiesTableName}``, ``${SyncQueueUrl}``).
* ``${AWS::Region}``, ``${AWS::AccountId}``, ``${AWS::Partition}``, ``${Stage}``.

A literal ``arn:aws:lambda:<region>:<account>:function:clicktok-<stage>-<name>`` also works locally,
since the local functions carry exactly those names; an unknown placeholder is an error naming
the file. Each file ``<stem>.asl.json`` becomes the state machine ``clicktok-<stage>-<stem>``, and
its ARN is exported as ``CLICKTOK_WORKFLOW_<STEM>_ARN`` (stem upper-cased, ``-`` -> ``_``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from local.lambdas import ACCOUNT_ID

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_:\-]+)\}")
SFN_ROLE_NAME = "clicktok-local-states"


def pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[_\-\s]+", name) if part)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def substitutions(
    *,
    stage: str,
    region: str,
    function_arns: Mapping[str, str],
    tables: Mapping[str, str] | None = None,
    buckets: Mapping[str, str] | None = None,
    queues: Mapping[str, str] | None = None,
) -> dict[str, str]:
    values = {"AWS::Region": region, "AWS::AccountId": ACCOUNT_ID, "AWS::Partition": "aws", "Stage": stage}
    values.update({f"{pascal(name)}FunctionArn": arn for name, arn in function_arns.items()})
    values.update({f"{pascal(key)}TableName": name for key, name in (tables or {}).items()})
    values.update({f"{pascal(key)}BucketName": name for key, name in (buckets or {}).items()})
    values.update({f"{pascal(key)}QueueUrl": url for key, url in (queues or {}).items()})
    return values


def render_definition(text: str, values: Mapping[str, str], source: str = "<definition>") -> str:
    lookup = {_norm(key): value for key, value in values.items()}
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in values:
            return values[key]
        if _norm(key) in lookup:
            return lookup[_norm(key)]
        unknown.append(key)
        return match.group(0)

    rendered = _PLACEHOLDER.sub(replace, text)
    if unknown:
        raise ValueError(
            f"{source}: unknown placeholder(s) {', '.join(sorted(set(unknown)))}; known: {sorted(values)}"
        )
    json.loads(rendered)  # a clear error here beats a moto validation message
    return rendered


def workflow_env_var(stem: str) -> str:
    return f"CLICKTOK_WORKFLOW_{re.sub(r'[^A-Z0-9]', '_', stem.upper())}_ARN"


def ensure_states_role(iam: Any) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    try:
        return iam.get_role(RoleName=SFN_ROLE_NAME)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        return iam.create_role(RoleName=SFN_ROLE_NAME, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]


def create_state_machines(
    sfn: Any, iam: Any, workflows_dir: Path, values: Mapping[str, str], stage: str
) -> dict[str, str]:
    """Create (or update) one state machine per ``*.asl.json``; returns ``{env var name: ARN}``."""
    files = sorted(workflows_dir.glob("*.asl.json")) if workflows_dir.is_dir() else []
    if not files:
        return {}
    role_arn = ensure_states_role(iam)
    existing = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
    exported: dict[str, str] = {}
    for path in files:
        stem = path.name[: -len(".asl.json")]
        definition = render_definition(path.read_text(), values, str(path))
        name = f"clicktok-{stage}-{stem}"
        if name in existing:
            arn = existing[name]
            sfn.update_state_machine(stateMachineArn=arn, definition=definition, roleArn=role_arn)
        else:
            arn = sfn.create_state_machine(name=name, definition=definition, roleArn=role_arn)[
                "stateMachineArn"
            ]
        exported[workflow_env_var(stem)] = arn
    return exported
