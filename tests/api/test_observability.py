"""Every request logs JSON with the request id as correlation id, and emits EMF metrics."""

import io
import json

import pytest

from chalicelib.observability import logger


def json_lines(text):
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


@pytest.fixture
def log_stream():
    handler = logger.registered_handler
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_requests_log_json_with_the_request_id_and_emit_metrics(
    api, make_tenant, capsys, monkeypatch, log_stream
):
    tenant = make_tenant()
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()
    log_stream.seek(0)
    log_stream.truncate()
    answer = api.get("/me", key=tenant.owner_key)

    logs = json_lines(log_stream.getvalue())
    (access,) = [line for line in logs if line.get("message") == "request"]
    assert access["correlation_id"] == answer.headers["x-request-id"]
    assert access["status"] == 200 and access["path"] == "/me"
    assert (access["tenant_id"], access["user_id"]) == (tenant.tenant_id, tenant.owner_id)
    assert tenant.owner_key not in log_stream.getvalue()

    (emf,) = [line for line in json_lines(capsys.readouterr().out) if "_aws" in line]
    names = {metric["Name"] for metric in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"Requests", "Latency"} <= names
