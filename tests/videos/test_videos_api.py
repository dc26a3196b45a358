"""POST /videos and /videos/batch validate before anything is queued; jobs list, page and delete."""

from __future__ import annotations

import json
from typing import Any


def _body(product_id: str, **fields: Any) -> dict[str, Any]:
    return {"product_id": product_id, "template_id": "modern", "duration": 8, **fields}


def test_validation_names_the_field_and_queues_nothing(api, team, product, render_queue, make_tenant):
    pid = product["product_id"]
    cases = {
        "duration": _body(pid, duration=5),
        "params.accent_color": _body(pid, params={"accent_color": "blue"}),
        "params.nope": _body(pid, params={"nope": 1}),
        "music": _body(pid, music="jazz"),
        "template_id": _body(pid, template_id="Bad Id"),
    }
    for field, body in cases.items():
        answer = api.post("/videos", key=team.editor, json_body=body)
        assert answer.status == 422, (field, answer.body)
        assert field in {d["field"] for d in answer.body["error"]["details"]}, (field, answer.body)
    assert api.post("/videos", key=team.editor, json_body=_body(pid, duration=61)).status == 422
    unknown = api.post("/videos", key=team.editor, json_body=_body(pid, colour="#fff"))
    assert unknown.status == 400 and unknown.body["error"]["details"][0]["field"] == "colour"
    assert api.post("/videos", key=team.editor, json_body=_body(pid, template_id="nope")).status == 404
    assert api.post("/videos", key=team.editor, json_body=_body("manual:missing")).status == 404
    assert api.post("/videos", key=team.viewer, json_body=_body(pid)).status == 403

    # another tenant's product is not found, alone or in a batch
    other = make_tenant("Other Co")
    assert api.post("/videos", key=other.owner_key, json_body=_body(pid)).status == 404
    batch = {"product_ids": [pid], "template_id": "modern", "duration": 8}
    answer = api.post("/videos/batch", key=other.owner_key, json_body=batch)
    assert answer.status == 404 and answer.body["error"]["details"] == [{"product_id": pid}]
    dupes = dict(batch, product_ids=[pid, pid])
    assert api.post("/videos/batch", key=team.editor, json_body=dupes).status == 422
    bad_params = api.post(
        "/templates/modern/preview", key=team.viewer, json_body={"params": {"cta_text": ""}}
    )
    assert bad_params.status == 422
    assert bad_params.body["error"]["details"][0]["field"] == "params.cta_text"
    assert render_queue.receive() == []


def test_batch_list_filter_page_get_and_delete(api, team, new_product, images, render_queue, cloud):
    products = [
        new_product(title=f"Item {n}", image_urls=[images.url(f"/images/item-{n}.jpg?w=300&h=300")])
        for n in range(3)
    ]
    ids = [p["product_id"] for p in products]
    answer = api.post(
        "/videos/batch",
        key=team.editor,
        json_body={"product_ids": ids, "template_id": "minimal", "duration": 10, "music": "chill"},
    )
    assert answer.status == 202, answer.body
    assert answer.body["count"] == 3 and answer.body["status"] == "queued"
    video_ids = answer.body["video_ids"]
    messages = render_queue.drain()
    assert sorted(json.loads(m["Body"])["video_id"] for m in messages) == sorted(video_ids)
    assert {json.loads(m["Body"])["tenant_id"] for m in messages} == {team.tenant_id}

    single = api.post("/videos", key=team.editor, json_body=_body(ids[0], caption_text="One\nTwo"))
    assert single.status == 202 and single.body["status"] == "queued"

    got = api.get(f"/videos/{video_ids[1]}", key=team.viewer).body
    assert got["status"] == "queued" and got["percent"] == 0 and got["video_url"] is None
    assert (got["product_id"], got["template_id"], got["duration"], got["size"]) == (
        ids[1],
        "minimal",
        10,
        "720x1280",
    )

    pages = api.pages("/videos?limit=2", team.viewer)
    listed = [v["video_id"] for page in pages for v in page["items"]]
    assert listed[0] == single.body["video_id"]  # newest first (a batch shares its millisecond)
    assert sorted(listed[1:]) == sorted(video_ids) and len(pages) == 2
    by_product = api.get(f"/videos?product_id={ids[0]}", key=team.viewer).body["items"]
    assert len(by_product) == 2
    assert api.get("/videos?status=ready", key=team.viewer).body["items"] == []
    assert len(api.get("/videos?status=queued", key=team.viewer).body["items"]) == 4
    assert api.get("/videos?status=bogus", key=team.viewer).status == 422

    assert api.delete(f"/videos/{video_ids[0]}", key=team.viewer).status == 403
    assert api.delete(f"/videos/{video_ids[0]}", key=team.editor).status == 204
    assert api.get(f"/videos/{video_ids[0]}", key=team.viewer).status == 404
    assert api.delete(f"/videos/{video_ids[0]}", key=team.editor).status == 404

    events = api.get("/audit?limit=100", key=team.owner).body["items"]
    done = [event["action"] for event in events if event["outcome"] == "success"]
    assert done.count("video.create") == 2 and done.count("video.delete") == 1
    assert {e["outcome"] for e in events if e["action"] == "video.delete"} == {"success", "denied", "failure"}
