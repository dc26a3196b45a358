"""Tenants, users, roles and keys through the HTTP API."""

import pytest


def test_operator_creates_a_tenant_whose_owner_key_works(api, operator_key):
    created = api.post(
        "/tenants", key=operator_key, json_body={"name": "Glow Beauty", "owner_email": "Ana@Glow.test"}
    )
    assert created.status == 201
    assert created.body["name"] == "Glow Beauty"
    owner = created.body["owner"]
    assert owner["api_key"].startswith("ctk_")
    me = api.get("/me", key=owner["api_key"])
    assert me.status == 200
    assert me.body == {
        "tenant_id": created.body["tenant_id"],
        "user_id": owner["user_id"],
        "role": "owner",
        "email": "ana@glow.test",
    }


def test_operator_me_has_no_tenant(api, operator_key):
    me = api.get("/me", key=operator_key)
    assert me.status == 200
    assert me.body["role"] == "operator" and me.body["tenant_id"] is None


def test_only_operators_create_tenants(api, make_tenant):
    tenant = make_tenant()
    answer = api.post("/tenants", key=tenant.owner_key, json_body={"name": "Sneaky"})
    assert answer.status == 403
    assert answer.body["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("Bearer ctk_" + "x" * 43, "unknown key"),
        ("Basic abc", "wrong scheme"),
        ("Bearer ", "empty"),
    ],
)
def test_requests_without_a_valid_key_get_401(api, cloud, header, reason):
    headers = {"authorization": header} if header else {}
    answer = api.get("/me", headers=headers)
    assert answer.status == 401, reason
    assert answer.body["error"]["code"] == "unauthorized"
    assert answer.body["error"]["message"]


def test_api_keys_are_stored_only_as_hashes(api, make_tenant, cloud):
    from chalicelib.integrations.aws.clients import client

    tenant = make_tenant()
    items = client("dynamodb").scan(TableName=cloud.table("entities"))["Items"]
    assert items
    assert tenant.owner_key not in str(items)


def test_roles_gate_what_each_user_may_do(api, make_tenant):
    tenant = make_tenant()
    keys = {}
    for role in ("admin", "editor", "viewer"):
        answer = api.post(
            "/users", key=tenant.owner_key, json_body={"email": f"{role}@acme.test", "role": role}
        )
        assert answer.status == 201, answer.body
        keys[role] = answer.body["api_key"]

    # a viewer cannot write, and the refused request writes nothing
    refused = api.post("/users", key=keys["viewer"], json_body={"email": "x@acme.test", "role": "viewer"})
    assert refused.status == 403
    assert "admin" in refused.body["error"]["message"]
    # editors cannot manage users either; admins can list them
    assert api.get("/users", key=keys["editor"]).status == 403
    listed = api.get("/users", key=keys["admin"])
    assert sorted(u["email"] for u in listed.body["items"]) == [
        "admin@acme.test",
        "editor@acme.test",
        "owner@acme.test",
        "viewer@acme.test",
    ]
    # an admin cannot mint an owner
    escalate = api.post("/users", key=keys["admin"], json_body={"email": "boss@acme.test", "role": "owner"})
    assert escalate.status == 403
    # every role can read who it is
    assert api.get("/me", key=keys["viewer"]).body["role"] == "viewer"


def test_duplicate_email_in_a_tenant_conflicts(api, make_tenant):
    tenant = make_tenant()
    first = api.post("/users", key=tenant.owner_key, json_body={"email": "sam@acme.test", "role": "editor"})
    assert first.status == 201
    again = api.post("/users", key=tenant.owner_key, json_body={"email": "SAM@acme.test", "role": "viewer"})
    assert again.status == 409
    assert "sam@acme.test" in again.body["error"]["message"]


def test_deleting_a_user_revokes_their_key_at_once(api, make_tenant):
    tenant = make_tenant()
    created = api.add_user(tenant.owner_key, "temp@acme.test", "editor")
    assert api.get("/me", key=created["api_key"]).status == 200
    deleted = api.delete(f"/users/{created['user_id']}", key=tenant.owner_key)
    assert deleted.status == 204
    assert api.get("/me", key=created["api_key"]).status == 401
    assert api.delete(f"/users/{created['user_id']}", key=tenant.owner_key).status == 404
    # the email is free again
    again = api.post("/users", key=tenant.owner_key, json_body={"email": "temp@acme.test", "role": "viewer"})
    assert again.status == 201


def test_users_cannot_delete_themselves_or_their_betters(api, make_tenant):
    tenant = make_tenant()
    admin = api.add_user(tenant.owner_key, "ad@acme.test", "admin")
    assert api.delete(f"/users/{admin['user_id']}", key=admin["api_key"]).status == 409
    assert api.delete(f"/users/{tenant.owner_id}", key=admin["api_key"]).status == 403
    assert api.get("/me", key=tenant.owner_key).status == 200


def test_rotating_a_key_retires_the_old_one(api, make_tenant):
    tenant = make_tenant()
    rotated = api.post("/api-keys/rotate", key=tenant.owner_key)
    assert rotated.status == 201
    new_key = rotated.body["api_key"]
    assert new_key != tenant.owner_key
    assert api.get("/me", key=tenant.owner_key).status == 401
    assert api.get("/me", key=new_key).body["user_id"] == tenant.owner_id
    # the retired key cannot rotate again
    assert api.post("/api-keys/rotate", key=tenant.owner_key).status == 401


def test_operators_rotate_their_own_key(api, operator_key):
    rotated = api.post("/api-keys/rotate", key=operator_key)
    assert rotated.status == 201
    assert api.get("/me", key=rotated.body["api_key"]).body["role"] == "operator"
    assert api.get("/me", key=operator_key).status == 401


def test_tenants_never_see_each_other(api, make_tenant):
    a, b = make_tenant("Alpha"), make_tenant("Bravo")
    b_user = api.add_user(b.owner_key, "bee@bravo.test", "viewer")
    a_users = api.get("/users", key=a.owner_key).body["items"]
    assert [u["user_id"] for u in a_users] == [a.owner_id]
    # another tenant's user answers 404, as if it did not exist, and survives
    assert api.delete(f"/users/{b_user['user_id']}", key=a.owner_key).status == 404
    assert api.get("/me", key=b_user["api_key"]).status == 200
    a_audit = api.get("/audit", key=a.owner_key).body["items"]
    assert a_audit and all(event["actor"] == a.owner_id for event in a_audit)
    b_cursor_page = api.get("/users?limit=1", key=b.owner_key).body
    assert b_cursor_page["next_cursor"]
    stolen = api.get(f"/users?limit=1&cursor={b_cursor_page['next_cursor']}", key=a.owner_key)
    assert stolen.status == 400


def test_operators_cannot_act_inside_a_tenant_without_its_key(api, operator_key):
    answer = api.get("/users", key=operator_key)
    assert answer.status == 403


def test_users_list_pages_with_a_cursor(api, make_tenant):
    tenant = make_tenant()
    for n in range(6):
        api.post("/users", key=tenant.owner_key, json_body={"email": f"u{n}@acme.test", "role": "viewer"})
    pages = api.pages("/users?limit=3", tenant.owner_key)
    seen = [user["email"] for page in pages for user in page["items"]]
    assert [len(page["items"]) for page in pages] == [3, 3, 1]
    assert len(seen) == len(set(seen)) == 7
