"""``clicktok``: the operator's command line.

Talks straight to a stage's tables with the caller's AWS credentials, so it works before any API
key exists (it mints the first operator key of a deployed stage). For the local stack it reads
``.clicktok/local.env``; for a deployed stage, the stack's ``RuntimeEnvironment`` output.
Prints JSON, so its answers can be piped.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_ENV_FILE = Path(".clicktok/local.env")
STACK_NAME = "clicktok-{stage}"


def deployed_environment(stage: str) -> dict[str, str]:
    import boto3

    stack = STACK_NAME.format(stage=stage)
    outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    for output in outputs:
        if output["OutputKey"] == "RuntimeEnvironment":
            return dict(json.loads(output["OutputValue"]))
    raise SystemExit(f"stack {stack} has no RuntimeEnvironment output; was it deployed by `make deploy`?")


def _use_stage(args: argparse.Namespace) -> dict[str, str]:
    from local.envfile import read_env_file

    if args.stage == "local":
        if not args.env_file.exists():
            raise SystemExit(f"{args.env_file} not found: start the local stack with `make run` first")
        env = read_env_file(args.env_file)
    else:
        env = deployed_environment(args.stage)
    os.environ.update(
        {k: v for k, v in env.items() if not k.startswith("CLICKTOK_API") and k != "CLICKTOK_OPERATOR_KEY"}
    )
    from chalicelib.runtime import ensure_ready, reset_runtime

    reset_runtime()
    ensure_ready()
    return env


def _cli_actor(tenant_id: str | None) -> Any:
    from chalicelib.domain.principals import Principal, Role

    return Principal(
        user_id=f"cli:{getpass.getuser()}", tenant_id=tenant_id, role=Role.OPERATOR, email="", key_hash=""
    )


def _audit(tenant_id: str | None, action: str, target: str, details: dict[str, Any] | None = None) -> None:
    from chalicelib.services.audit import AuditRecord, record

    record(
        _cli_actor(tenant_id),
        AuditRecord(
            action=action,
            target=target,
            outcome="success",
            status_code=201,
            request_id=None,
            source_ip=None,
            details={"via": "cli", **(details or {})},
        ),
    )


def cmd_operator_create(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.services.accounts import create_operator

    issued = create_operator(args.email)
    _audit(None, "operator.create", issued.user_id, {"email": args.email.lower()})
    return {"user_id": issued.user_id, "api_key": issued.api_key, "role": "operator"}


def cmd_tenant_create(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.services.accounts import create_tenant

    created = create_tenant(args.name, args.owner_email)
    _audit(None, "tenant.create", created.tenant_id, {"name": created.name})
    return {
        "tenant_id": created.tenant_id,
        "name": created.name,
        "owner": {"user_id": created.owner.user_id, "api_key": created.owner.api_key},
    }


def cmd_user_create(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.domain.principals import Role
    from chalicelib.services.accounts import add_member, get_tenant

    get_tenant(args.tenant_id)
    issued = add_member(args.tenant_id, args.email, Role(args.role), created_by=_cli_actor(None).user_id)
    _audit(args.tenant_id, "user.create", issued.user_id, {"email": args.email.lower(), "role": args.role})
    return {
        "tenant_id": args.tenant_id,
        "user_id": issued.user_id,
        "api_key": issued.api_key,
        "role": args.role,
    }


def cmd_key_rotate(args: argparse.Namespace) -> dict[str, Any]:
    from chalicelib.services.accounts import reissue_key

    issued = reissue_key(args.tenant_id, args.user_id)
    _audit(args.tenant_id, "api_key.rotate", issued.user_id)
    return {"tenant_id": args.tenant_id, "user_id": issued.user_id, "api_key": issued.api_key}


def cmd_urls(args: argparse.Namespace) -> dict[str, Any]:
    from local.envfile import read_env_file

    if not args.env_file.exists():
        raise SystemExit(f"{args.env_file} not found: start the local stack with `make run` first")
    env = read_env_file(args.env_file)
    urls = {name: value for name, value in env.items() if name.endswith("_URL") and value.startswith("http")}
    api = env.get("CLICKTOK_API_URL")
    if api:
        urls["health"] = f"{api}/health"
        urls["openapi"] = f"{api}/openapi.json"
    return urls


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clicktok", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="local", choices=["local", "dev", "staging", "prod"])
    parser.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE, help="local stack environment")
    groups = parser.add_subparsers(dest="group", required=True)

    operator = groups.add_parser("operator", help="platform operators").add_subparsers(
        dest="action", required=True
    )
    op_create = operator.add_parser("create", help="mint an operator API key")
    op_create.add_argument("--email", required=True)
    op_create.set_defaults(func=cmd_operator_create, needs_stage=True)

    tenant = groups.add_parser("tenant", help="tenants").add_subparsers(dest="action", required=True)
    t_create = tenant.add_parser("create", help="create a tenant and its owner")
    t_create.add_argument("--name", required=True)
    t_create.add_argument("--owner-email", required=True)
    t_create.set_defaults(func=cmd_tenant_create, needs_stage=True)

    user = groups.add_parser("user", help="users of a tenant").add_subparsers(dest="action", required=True)
    u_create = user.add_parser("create", help="add a user to a tenant")
    u_create.add_argument("--tenant-id", required=True)
    u_create.add_argument("--email", required=True)
    u_create.add_argument("--role", required=True, choices=["owner", "admin", "editor", "viewer"])
    u_create.set_defaults(func=cmd_user_create, needs_stage=True)

    key = groups.add_parser("key", help="API keys").add_subparsers(dest="action", required=True)
    k_rotate = key.add_parser("rotate", help="issue a new key for a user; the old one stops working")
    k_rotate.add_argument("--tenant-id", default=None, help="omit for an operator")
    k_rotate.add_argument("--user-id", required=True)
    k_rotate.set_defaults(func=cmd_key_rotate, needs_stage=True)

    urls = groups.add_parser("urls", help="the local stack's URLs")
    urls.set_defaults(func=cmd_urls, needs_stage=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from chalicelib.errors import AppError

    args = build_parser().parse_args(argv)
    try:
        if args.needs_stage:
            _use_stage(args)
        result = args.func(args)
    except AppError as exc:
        print(json.dumps({"error": {"code": exc.code, "message": exc.message}}), file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
