"""Every mutating request leaves an audit event; admins read them newest first."""

from datetime import UTC, datetime, timedelta


def test_mutations_are_audited_with_who_what_where_and_outcome(api, make_tenant, cloud):
    tenant = make_tenant()
    created = api.post("/users", key=tenant.owner_key, json_body={"email": "ed@acme.test", "role": "editor"})
    api.post("/users", key=created.body["api_key"], json_body={"email": "no@acme.test", "role": "viewer"})
    api.delete(f"/users/{created.body['user_id']}", key=tenant.owner_key)

    events = api.get("/audit", key=tenant.owner_key).body["items"]
    assert [(e["action"], e["outcome"]) for e in events] == [
        ("user.delete", "success"),
        ("user.create", "denied"),
        ("user.create", "success"),
    ]
    delete, denied, create = events
    assert create["actor"] == tenant.owner_id and create["actor_role"] == "owner"
    assert create["target"] == created.body["user_id"]
    assert create["status_code"] == 201
    assert create["details"] == {"email": "ed@acme.test", "role": "editor"}
    assert create["source_ip"] == "127.0.0.1"
    assert create["request_id"]
    assert denied["actor"] == created.body["user_id"] and denied["status_code"] == 403
    assert delete["target"] == created.body["user_id"]
    assert created.body["api_key"] not in str(events)


def test_audit_events_expire_after_the_retention_period(api, make_tenant, cloud):
    from chalicelib.integrations.aws.clients import client

    tenant = make_tenant()
    api.post("/api-keys/rotate", key=tenant.owner_key)
    items = client("dynamodb").query(
        TableName=cloud.table("audit"),
        KeyConditionExpression="tenant_id = :t",
        ExpressionAttributeValues={":t": {"S": tenant.tenant_id}},
    )["Items"]
    assert len(items) == 1
    expires = datetime.fromtimestamp(int(items[0]["expires_at"]["N"]), UTC)
    expected = datetime.now(UTC) + timedelta(days=cloud.audit_retention_days)
    assert abs((expires - expected).total_seconds()) < 120


def test_audit_filters_by_action_actor_and_time_and_pages(api, make_tenant):
    tenant = make_tenant()
    admin = api.add_user(tenant.owner_key, "ad@acme.test", "admin")
    for n in range(4):
        api.post("/users", key=admin["api_key"], json_body={"email": f"v{n}@acme.test", "role": "viewer"})
    api.post("/api-keys/rotate", key=admin["api_key"])

    by_admin = api.get(f"/audit?actor={admin['user_id']}", key=tenant.owner_key).body["items"]
    assert [e["action"] for e in by_admin] == ["api_key.rotate"] + ["user.create"] * 4
    creates = api.get("/audit?action=user.create", key=tenant.owner_key).body["items"]
    assert len(creates) == 5
    both = api.get(f"/audit?action=user.create&actor={admin['user_id']}", key=tenant.owner_key).body["items"]
    assert len(both) == 4
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert api.get(f"/audit?since={future}", key=tenant.owner_key).body["items"] == []

    pages = api.pages("/audit?action=user.create&limit=2", tenant.owner_key)
    seen = [event["event_id"] for page in pages for event in page["items"]]
    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    assert seen == [e["event_id"] for e in creates]

    # a cursor continues only the query it came from
    other_query = f"/audit?action=api_key.rotate&limit=1&cursor={pages[0]['next_cursor']}"
    mismatched = api.get(other_query, key=tenant.owner_key)
    assert mismatched.status == 400


def test_audit_is_for_owners_and_admins(api, make_tenant):
    tenant = make_tenant()
    editor = api.add_user(tenant.owner_key, "e@acme.test", "editor")
    assert api.get("/audit", key=editor["api_key"]).status == 403
    assert api.get("/audit?since=yesterday", key=tenant.owner_key).status == 400


def test_operator_actions_are_audited_on_the_platform(api, operator_key):
    created = api.post("/tenants", key=operator_key, json_body={"name": "Zed"})
    events = api.get("/audit", key=operator_key).body["items"]
    assert events[0]["action"] == "tenant.create"
    assert events[0]["target"] == created.body["tenant_id"]
    # the new tenant's owner does not see platform events
    assert api.get("/audit", key=created.body["owner"]["api_key"]).body["items"] == []
