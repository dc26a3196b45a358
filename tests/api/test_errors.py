"""Bad input gets a clear 4xx in one JSON shape, and writes nothing."""

import pytest


def user_count(api, key):
    return len(api.get("/users?limit=200", key=key).body["items"])


@pytest.mark.parametrize(
    ("raw", "status", "needle"),
    [
        (b'{"email": "a@b.test", "role": ', 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b"", 400, "body is required"),
        (b'{"email": 5, "role": "viewer"}', 400, "email"),
        (b'{"role": "viewer"}', 400, "email"),
        (b'{"email": "a@b.test", "role": "viewer", "rol": "x"}', 400, "rol"),
        (b'{"email": "a@b.test", "role": "emperor"}', 422, "role"),
        (b'{"email": "not-an-email", "role": "viewer"}', 422, "email"),
    ],
)
def test_bad_bodies_are_refused_with_the_field_named(api, make_tenant, raw, status, needle):
    tenant = make_tenant()
    before = user_count(api, tenant.owner_key)
    answer = api.post("/users", key=tenant.owner_key, raw=raw)
    assert answer.status == status, answer.body
    error = answer.body["error"]
    assert set(error) >= {"code", "message", "details", "request_id"}
    assert needle in error["message"]
    assert user_count(api, tenant.owner_key) == before


def test_field_details_say_which_field_and_why(api, make_tenant):
    tenant = make_tenant()
    answer = api.post("/users", key=tenant.owner_key, json_body={"email": 7, "role": "viewer"})
    assert answer.body["error"]["details"] == [
        {"field": "email", "in": "body", "reason": "Input should be a valid string", "type": "string_type"}
    ]


def test_oversized_bodies_get_413(api, make_tenant):
    tenant = make_tenant()
    huge = b'{"name": "' + b"x" * 2_000_000 + b'"}'
    operator = api.post("/users", key=tenant.owner_key, raw=huge)
    assert operator.status == 413
    assert operator.body["error"]["code"] == "payload_too_large"


def test_non_json_content_type_gets_415_in_the_same_shape(api, make_tenant):
    tenant = make_tenant()
    answer = api.post("/users", key=tenant.owner_key, raw=b"email=a", headers={"content-type": "text/plain"})
    assert answer.status == 415
    assert answer.body["error"]["code"] == "unsupported_media_type"


def test_unsupported_method_gets_405_in_the_same_shape(api, make_tenant):
    tenant = make_tenant()
    answer = api.call("PUT", "/users", key=tenant.owner_key, json_body={})
    assert answer.status == 405
    assert answer.body["error"]["code"] == "method_not_allowed"


def test_bad_query_parameters_are_named(api, make_tenant):
    tenant = make_tenant()
    answer = api.get("/users?limit=zero", key=tenant.owner_key)
    assert answer.status == 400
    assert "limit" in answer.body["error"]["message"]
    too_big = api.get("/users?limit=5000", key=tenant.owner_key)
    assert too_big.status == 422
    unknown = api.get("/users?limt=5", key=tenant.owner_key)
    assert unknown.status == 400 and "limt" in unknown.body["error"]["message"]
    garbage = api.get("/users?cursor=%%%", key=tenant.owner_key)
    assert garbage.status == 400 and garbage.body["error"]["details"][0]["field"] == "cursor"


def test_unexpected_errors_are_500_with_a_request_id_and_no_internals(api, make_tenant, monkeypatch, caplog):
    from chalicelib.services import accounts

    tenant = make_tenant()

    def explode(*args, **kwargs):
        raise RuntimeError("table arn:aws:dynamodb:secret-internal-detail")

    monkeypatch.setattr(accounts, "list_users", explode)
    answer = api.get("/users", key=tenant.owner_key)
    assert answer.status == 500
    assert "secret-internal-detail" not in str(answer.body)
    assert answer.body["error"]["request_id"] == answer.headers["x-request-id"]
    assert "secret-internal-detail" in caplog.text  # logged with its stack for us, not for the client


def test_too_many_requests_get_429_with_retry_after(api, make_tenant, monkeypatch):
    from chalicelib.runtime import reset_runtime

    tenant = make_tenant()
    monkeypatch.setenv("CLICKTOK_RATE_LIMIT_PER_MINUTE", "3")
    reset_runtime()
    statuses = [api.get("/me", key=tenant.owner_key).status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = api.get("/me", key=tenant.owner_key)
    assert limited.body["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
