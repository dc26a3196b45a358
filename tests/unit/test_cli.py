"""The clicktok CLI against a local cloud described by an env file."""

import json
import shlex

import pytest

from chalicelib.cli import main


@pytest.fixture
def env_file(tmp_path, cloud):
    from local.provision import local_environment

    env = local_environment("test", "https://sqs.us-east-1.amazonaws.com")
    env["CLICKTOK_API_URL"] = "http://127.0.0.1:8000"
    path = tmp_path / "local.env"
    path.write_text("".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()))
    return path


def run(capsys, *argv):
    capsys.readouterr()  # drop what earlier API calls logged
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else json.loads(err)


def test_operator_tenant_user_and_key_rotation(capsys, env_file, api):
    code, operator = run(
        capsys, "--env-file", str(env_file), "operator", "create", "--email", "root@ops.test"
    )
    assert code == 0 and operator["role"] == "operator"
    assert api.get("/me", key=operator["api_key"]).body["role"] == "operator"

    code, tenant = run(
        capsys,
        "--env-file",
        str(env_file),
        "tenant",
        "create",
        "--name",
        "Shop",
        "--owner-email",
        "o@shop.test",
    )
    assert code == 0
    owner_key = tenant["owner"]["api_key"]
    assert api.get("/me", key=owner_key).body["tenant_id"] == tenant["tenant_id"]

    code, user = run(
        capsys,
        "--env-file",
        str(env_file),
        *("user", "create", "--tenant-id", tenant["tenant_id"], "--email", "v@shop.test", "--role", "viewer"),
    )
    assert code == 0
    assert api.get("/me", key=user["api_key"]).body["role"] == "viewer"

    code, rotated = run(
        capsys,
        "--env-file",
        str(env_file),
        "key",
        "rotate",
        "--tenant-id",
        tenant["tenant_id"],
        "--user-id",
        user["user_id"],
    )
    assert code == 0
    assert api.get("/me", key=user["api_key"]).status == 401
    assert api.get("/me", key=rotated["api_key"]).status == 200

    actions = [e["action"] for e in api.get("/audit", key=owner_key).body["items"]]
    assert actions == ["api_key.rotate", "user.create"]


def test_unknown_tenant_is_a_clear_error(capsys, env_file):
    code, error = run(
        capsys,
        "--env-file",
        str(env_file),
        "user",
        "create",
        "--tenant-id",
        "tnt_nope",
        "--email",
        "a@b.test",
        "--role",
        "viewer",
    )
    assert code == 1
    assert error["error"]["code"] == "not_found"


def test_urls_lists_the_local_endpoints(capsys, env_file):
    code, urls = run(capsys, "--env-file", str(env_file), "urls")
    assert code == 0
    assert urls["health"] == "http://127.0.0.1:8000/health"
