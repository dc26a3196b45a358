"""Templates: shipped plus the tenant's own, validated by the renderer's schema, paged, audited."""

from __future__ import annotations

import copy
from typing import Any


def _modern(api: Any, key: str) -> dict[str, Any]:
    answer = api.get("/templates/modern", key=key)
    assert answer.status == 200, answer.body
    assert answer.body["builtin"] is True and answer.body["music_style"]
    return answer.body["document"]


def test_templates_crud_validation_paging_and_tenancy(api, team, make_tenant):
    listed = [item for page in api.pages("/templates?limit=4", team.viewer) for item in page["items"]]
    shipped = [item["template_id"] for item in listed]
    assert {"modern", "minimal", "energetic"} <= set(shipped) and len(shipped) >= 6
    assert all(item["builtin"] for item in listed)

    mine = copy.deepcopy(_modern(api, team.viewer))
    mine.update(id="my-brand", name="My brand")
    created = api.post("/templates", key=team.editor, json_body=mine)
    assert created.status == 201, created.body
    assert created.body["builtin"] is False and created.body["document"]["id"] == "my-brand"
    assert api.post("/templates", key=team.editor, json_body=mine).status == 409  # taken
    shipped_id = dict(mine, id="modern")
    assert api.post("/templates", key=team.editor, json_body=shipped_id).status == 409
    assert api.post("/templates", key=team.viewer, json_body=dict(mine, id="x")).status == 403

    # a bad template: 422 whose details name each bad field
    bad = copy.deepcopy(mine)
    bad["id"] = "bad-one"
    bad["layers"][0]["box"]["w"] = 5000
    bad["background"] = {"kind": "solid", "color": "red"}
    answer = api.post("/templates", key=team.editor, json_body=bad)
    assert answer.status == 422, answer.body
    fields = {d["field"] for d in answer.body["error"]["details"]}
    assert {"layers.0.box.w", "background.color"} <= fields, fields
    assert api.post("/templates", key=team.editor, json_body={"id": "Nope!"}).status == 422

    # listed after the shipped ones, across pages of every size
    for limit in (1, 4, 6, 7, 50):
        pages = api.pages(f"/templates?limit={limit}", team.viewer)
        ids = [item["template_id"] for page in pages for item in page["items"]]
        assert ids == [*shipped, "my-brand"], (limit, ids)
    assert api.get("/templates/my-brand", key=team.viewer).body["name"] == "My brand"

    # another tenant sees only the shipped ones
    other = make_tenant("Other Co")
    assert api.get("/templates/my-brand", key=other.owner_key).status == 404
    others = [i["template_id"] for p in api.pages("/templates", other.owner_key) for i in p["items"]]
    assert others == shipped
    assert api.delete("/templates/my-brand", key=other.owner_key).status == 404

    assert api.delete("/templates/modern", key=team.editor).status == 409
    assert api.delete("/templates/my-brand", key=team.viewer).status == 403
    assert api.delete("/templates/my-brand", key=team.editor).status == 204
    assert api.get("/templates/my-brand", key=team.viewer).status == 404
    assert api.delete("/templates/my-brand", key=team.editor).status == 404

    actions = [event["action"] for event in api.get("/audit?limit=100", key=team.owner).body["items"]]
    assert actions.count("template.create") >= 3 and "template.delete" in actions
