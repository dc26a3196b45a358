"""The renderer handler on real render-queue messages: ready videos in S3, once per job and per content."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.videos.conftest import s3_keys


def _job(tenant_id: str, video_id: str) -> Any:
    from chalicelib.store.videos import VideoJobItem

    return VideoJobItem.get(*VideoJobItem.key(tenant_id, video_id))


def _probe(data: bytes, tmp_path: Any) -> dict[str, Any]:
    from chalicelib.render.ffmpeg import ffmpeg_exe

    path = tmp_path / "got.mp4"
    path.write_bytes(data)
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True)
    return {"text": out.stderr}


def test_a_video_renders_once_and_identical_inputs_reuse_it(
    api, team, product, render_queue, spy, cloud, tmp_path
):
    pid = product["product_id"]
    body = {"product_id": pid, "template_id": "modern", "duration": 6, "caption_text": "Glow\nShine"}
    queued = api.post("/videos", key=team.editor, json_body=body)
    assert queued.status == 202 and queued.body["status"] == "queued"
    video_id = queued.body["video_id"]
    messages = render_queue.drain()
    assert len(messages) == 1

    assert render_queue.deliver(messages) == {"batchItemFailures": []}
    got = api.get(f"/videos/{video_id}", key=team.viewer).body
    assert got["status"] == "ready" and got["percent"] == 100, got
    assert (got["width"], got["height"], got["duration"]) == (720, 1280, 6)
    assert got["bytes"] > 10_000 and got["thumbnail_bytes"] > 1_000 and got["render_seconds"] > 0
    assert got["reused"] is False and len(got["render_key"]) == 64
    assert "Signature=" in got["video_url"] and "Signature=" in got["thumbnail_url"]
    key = got["render_key"]
    assert f"videos/{key}-preview.mp4" in got["preview_url"] and "Signature=" in got["preview_url"]
    assert s3_keys(cloud, "videos/") == [
        f"videos/{key}-preview.mp4",
        f"videos/{key}.jpg",
        f"videos/{key}.json",
        f"videos/{key}.mp4",
    ]
    from chalicelib.integrations.aws.clients import client

    s3 = client("s3")
    mp4 = s3.get_object(Bucket=cloud.bucket("media"), Key=f"videos/{key}.mp4")
    assert mp4["ContentType"] == "video/mp4"
    probe = _probe(mp4["Body"].read(), tmp_path)["text"]
    assert "h264" in probe and "720x1280" in probe and "aac" in probe, probe
    thumb = s3.get_object(Bucket=cloud.bucket("media"), Key=f"videos/{key}.jpg")["Body"].read()
    assert thumb[:3] == b"\xff\xd8\xff"
    clip = s3.get_object(Bucket=cloud.bucket("media"), Key=f"videos/{key}-preview.mp4")
    assert clip["ContentType"] == "video/mp4" and clip["ContentLength"] == got["preview_bytes"]
    (tmp_path / "preview.mp4").write_bytes(clip["Body"].read())
    from chalicelib.render.ffmpeg import probe as probe_file

    info = probe_file(tmp_path / "preview.mp4")
    assert (info.video_codec, info.width, info.height, info.audio_codec) == ("h264", 360, 640, None)
    assert abs(info.duration - 3.0) < 0.05 and info.faststart
    metadata = json.loads(
        s3.get_object(Bucket=cloud.bucket("media"), Key=f"videos/{key}.json")["Body"].read()
    )
    assert metadata["preview_bytes"] == got["preview_bytes"] > 0
    listed = api.get(f"/videos?product_id={pid}", key=team.viewer).body["items"]
    assert [v["video_id"] for v in listed] == [video_id] and listed[0]["preview_url"]
    assert api.get(f"/products/{pid}", key=team.viewer).body["status"] == "video_created"
    assert spy.count == 1 and spy.calls[0]["size"] == "720x1280"

    # the same message again (SQS delivers at least once): not rendered again
    assert render_queue.deliver(messages) == {"batchItemFailures": []}
    assert spy.count == 1
    # and even past the idempotency record, a ready job is not rendered again
    from chalicelib.jobs.render import process_job

    assert process_job({"tenant_id": team.tenant_id, "video_id": video_id})["skipped"] is True
    assert spy.count == 1

    # a second job with the same inputs reuses the stored render
    again = api.post("/videos", key=team.editor, json_body=body).body["video_id"]
    render_queue.deliver()
    second = api.get(f"/videos/{again}", key=team.viewer).body
    assert second["status"] == "ready" and second["reused"] is True and second["render_key"] == key
    assert second["bytes"] == got["bytes"] and spy.count == 1
    assert second["preview_bytes"] == got["preview_bytes"] and second["preview_url"]
    # a render stored before previews existed is reused as it is, without a preview link
    s3.delete_object(Bucket=cloud.bucket("media"), Key=f"videos/{key}-preview.mp4")
    older = api.post("/videos", key=team.editor, json_body=body).body["video_id"]
    render_queue.deliver()
    third = api.get(f"/videos/{older}", key=team.viewer).body
    assert third["status"] == "ready" and third["reused"] is True and spy.count == 1
    assert third["preview_url"] is None and third["preview_bytes"] is None and third["video_url"]
    # other inputs give another key
    api.post("/videos", key=team.editor, json_body={**body, "params": {"headline": "New!"}})
    render_queue.deliver()
    assert spy.count == 2

    # deleting a job keeps the shared render
    assert api.delete(f"/videos/{video_id}", key=team.editor).status == 204
    assert f"videos/{key}.mp4" in s3_keys(cloud, "videos/")
    assert api.get(f"/videos/{again}", key=team.viewer).body["video_url"]


def test_a_broken_image_fails_that_job_and_the_rest_of_the_batch_renders(
    api, team, new_product, images, render_queue, spy, cloud
):
    from chalicelib.integrations.aws.clients import client
    from chalicelib.services.product_images import lookup

    good = new_product(title="Good", image_urls=[images.url("/images/good.jpg?w=400&h=400")])
    broken_url = images.url("/images/broken.jpg?w=400&h=400&seed=3")
    broken = new_product(title="Broken", image_urls=[broken_url])
    unfetched = new_product(title="No picture", image_urls=[images.url("/broken/404")])
    stored = lookup(team.tenant_id, [broken_url])[broken_url]
    client("s3").put_object(Bucket=cloud.bucket("media"), Key=stored.s3_key, Body=b"not a picture at all")

    ids = {}
    for name, item in (("good", good), ("broken", broken), ("unfetched", unfetched)):
        answer = api.post(
            "/templates/modern/preview", key=team.viewer, json_body={"product_id": item["product_id"]}
        )
        assert answer.status == 202, answer.body
        ids[name] = answer.body["video_id"]
    messages = render_queue.drain()
    assert len(messages) == 3

    # permanent failures are not retried: nothing comes back in batchItemFailures
    assert render_queue.deliver(messages) == {"batchItemFailures": []}
    jobs = {name: api.get(f"/videos/{vid}", key=team.viewer).body for name, vid in ids.items()}
    assert jobs["good"]["status"] == "ready" and jobs["good"]["kind"] == "preview"
    assert jobs["good"]["video_url"] and jobs["good"]["preview_url"] is None  # a template preview has none
    assert (jobs["good"]["width"], jobs["good"]["height"], jobs["good"]["duration"]) == (720, 1280, 3)
    assert jobs["broken"]["status"] == "failed" and jobs["broken"]["reason_code"] == "bad_asset"
    assert "product image 1" in jobs["broken"]["reason"], jobs["broken"]
    assert jobs["unfetched"]["status"] == "failed" and jobs["unfetched"]["reason_code"] == "no_image"
    assert "no ready image" in jobs["unfetched"]["reason"]
    # previews leave the product's status alone
    assert api.get(f"/products/{good['product_id']}", key=team.viewer).body["status"] == "new"
    assert spy.count == 2  # the broken image reached the renderer; the missing one did not


def test_a_transient_error_is_retried_and_a_broken_template_is_not(api, team, render_queue, spy, monkeypatch):
    from botocore.exceptions import ClientError

    from chalicelib.jobs import render as worker

    first = api.post("/templates/minimal/preview", key=team.viewer, json_body={}).body["video_id"]
    messages = render_queue.drain()

    def s3_down(key: str) -> None:
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "HeadObject")

    monkeypatch.setattr(worker, "_stored_render", s3_down)
    answer = render_queue.deliver(messages)
    assert answer == {"batchItemFailures": [{"itemIdentifier": messages[0]["MessageId"]}]}
    job = api.get(f"/videos/{first}", key=team.viewer).body
    assert job["status"] == "queued" and job["reason_code"] == "retrying"
    monkeypatch.undo()
    monkeypatch.setattr("chalicelib.services.videos.VIDEO_SIZE", "720x1280")

    # the redelivery renders (a failed attempt leaves no idempotency record behind)
    assert render_queue.deliver(messages) == {"batchItemFailures": []}
    assert api.get(f"/videos/{first}", key=team.viewer).body["status"] == "ready"

    # a template that no longer validates fails its job for good
    second = api.post("/templates/minimal/preview", key=team.viewer, json_body={}).body["video_id"]
    item = _job(team.tenant_id, second)
    item.update(actions=[type(item).template.set({**item.template, "layers": []})])
    assert render_queue.deliver() == {"batchItemFailures": []}
    failed = api.get(f"/videos/{second}", key=team.viewer).body
    assert failed["status"] == "failed" and failed["reason_code"] == "bad_template"
    assert "layers" in failed["reason"]


def test_the_local_sqs_pump_feeds_the_render_queue_to_the_renderer(api, team, cloud, spy):
    import app as app_module
    from chalicelib.integrations.aws.clients import client
    from chalicelib.jobs.render import handler
    from local.pumps import QUEUE_CONSUMERS, SqsPump

    sqs = client("sqs")
    pump = SqsPump(app_module, sqs, cloud.queues, stage="test", consumers=QUEUE_CONSUMERS)
    [renderer] = [source for source in pump.sources if source.queue_url == cloud.queue_url("render")]
    assert renderer.name == "clicktok-test-renderer" and renderer.handler is handler

    video_id = api.post("/templates/pastel/preview", key=team.viewer, json_body={}).body["video_id"]
    messages = sqs.receive_message(QueueUrl=renderer.queue_url, AttributeNames=["All"])["Messages"]
    assert pump.deliver(renderer, messages) == set()
    assert api.get(f"/videos/{video_id}", key=team.viewer).body["status"] == "ready"
    assert sqs.receive_message(QueueUrl=renderer.queue_url, VisibilityTimeout=0).get("Messages", []) == []
    assert json.loads(messages[0]["Body"])["video_id"] == video_id


def test_voiceover_without_tts_renders_without_voice_and_says_so(api, team, product, render_queue):
    body = {
        "product_id": product["product_id"],
        "template_id": "minimal",
        "duration": 6,
        "voiceover": "Meet the serum",
        "music": "none",
    }
    video_id = api.post("/videos", key=team.editor, json_body=body).body["video_id"]
    render_queue.deliver()
    job = api.get(f"/videos/{video_id}", key=team.viewer).body
    assert job["status"] == "ready" and any("voiceover skipped" in note for note in job["notes"])


class _FakeShop:
    """What ``upsert_shop_products`` asks of the TikTok Shop client: a product's detail."""

    def __init__(self) -> None:
        self.products: dict[str, dict[str, Any]] = {}

    def get_product(self, shop_cipher: str, product_id: str) -> dict[str, Any]:
        return self.products[product_id]

    def sync(self, tenant_id: str, raw: dict[str, Any]) -> int:
        from chalicelib.services.shop_sync import upsert_shop_products

        self.products[raw["id"]] = raw
        summary = {k: raw[k] for k in ("id", "title", "status", "update_time")}
        client: Any = self  # the one method of the ShopApi protocol that the upsert calls
        return upsert_shop_products(tenant_id, "7001", [summary], client, shop_cipher="cipher").written


def test_a_shop_products_ready_video_makes_it_video_created_and_a_resync_keeps_that(
    api, team, images, render_queue
):
    shop = _FakeShop()
    raw = {
        "id": "1729001",
        "title": "Synced Serum",
        "status": "ACTIVATE",
        "update_time": 1_700_000_000,
        "skus": [
            {
                "id": "s1",
                "seller_sku": "SER-1",
                "price": {"currency": "USD", "sale_price": "19.00"},
                "inventory": [{"quantity": 5}],
            }
        ],
        "main_images": [{"urls": [images.url("/images/synced-serum.jpg?w=400&h=500")]}],
    }
    assert shop.sync(team.tenant_id, raw) == 1
    pid = "shop:1729001"
    assert api.post(f"/products/{pid}/images/refresh", key=team.editor).status == 200
    synced = api.get(f"/products/{pid}", key=team.viewer).body
    assert (synced["source"], synced["status"], synced["shop_status"]) == ("shop", "new", "ACTIVATE")

    body = {"product_id": pid, "template_id": "minimal", "duration": 6, "music": "none"}
    video_id = api.post("/videos", key=team.editor, json_body=body).body["video_id"]
    render_queue.deliver()
    assert api.get(f"/videos/{video_id}", key=team.viewer).body["status"] == "ready"
    made = api.get(f"/products/{pid}", key=team.viewer).body
    assert (made["status"], made["shop_status"]) == ("video_created", "ACTIVATE")

    # the shop changes the product: the sync rewrites what TikTok owns and keeps ClickTok's status
    changed = {**raw, "title": "Synced Serum 2", "status": "SELLER_DEACTIVATED", "update_time": 1_700_000_100}
    assert shop.sync(team.tenant_id, changed) == 1
    after = api.get(f"/products/{pid}", key=team.viewer).body
    assert (after["title"], after["status"], after["shop_status"]) == (
        "Synced Serum 2",
        "video_created",
        "SELLER_DEACTIVATED",
    )
    listed = api.get("/products?status=video_created", key=team.viewer).body["items"]
    assert [p["product_id"] for p in listed] == [pid]
