def test_health(api):
    answer = api.get("/health")
    assert answer.status == 200, answer.body
    assert answer.body["checks"] == {"table": "ok", "bucket": "ok"}


def test_tenant_flow(api, make_tenant):
    tenant = make_tenant()
    me = api.get("/me", key=tenant.owner_key)
    assert me.status == 200, me.body
    assert me.body["role"] == "owner"
