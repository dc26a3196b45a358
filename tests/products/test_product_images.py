"""Product images: fetched once, content-addressed, normalized, failures recorded, addresses guarded."""

from __future__ import annotations

import io
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageChops, ImageStat

from local.sandboxes.images.app import product_image

BOTTLE = "/images/bottle-serum.jpg?w=400&h=400"


def _images(api, key: str, product_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/products/{product_id}/images", key=key)
    assert answer.status == 200, answer.body
    return answer.body["items"]


def _object(key: str) -> Image.Image:
    from chalicelib.config import get_settings
    from chalicelib.integrations.aws.clients import client

    body = client("s3").get_object(Bucket=get_settings().bucket("media"), Key=key)["Body"].read()
    return Image.open(io.BytesIO(body))


def _stored_keys() -> list[str]:
    from chalicelib.config import get_settings
    from chalicelib.integrations.aws.clients import client

    listed = client("s3").list_objects_v2(Bucket=get_settings().bucket("media"), Prefix="images/")
    return [item["Key"] for item in listed.get("Contents", [])]


def test_an_image_url_is_downloaded_once_and_stored_by_its_sha256(api, team, images, new_product):
    first = new_product(image_urls=[images.url(BOTTLE)])
    second = new_product(title="Same picture", image_urls=[images.url(BOTTLE)])
    assert images.hits("/images/bottle-serum.jpg") == 1
    # another URL with the same bytes (through a redirect) is fetched but stored once
    third = new_product(title="Via redirect", image_urls=[images.url("/redirect/2" + BOTTLE)])
    assert images.hits("/images/bottle-serum.jpg") == 2

    shown = [_images(api, team.viewer, p["product_id"])[0] for p in (first, second, third)]
    assert {image["sha256"] for image in shown} == {shown[0]["sha256"]}
    assert _stored_keys() == [f"images/{shown[0]['sha256']}.jpg"]
    image = shown[0]
    assert image["status"] == "ready" and image["source_type"] == "jpeg"
    assert (image["width"], image["height"], image["content_type"]) == (400, 400, "image/jpeg")
    assert f"/images/{image['sha256']}.jpg?" in image["url"]
    query = parse_qs(urlsplit(image["url"]).query)
    expires = int(query["Expires"][0]) if "Expires" in query else time.time() + int(query["X-Amz-Expires"][0])
    assert 890 <= expires - time.time() <= 905
    assert image["url_expires_at"]
    stored = _object(f"images/{image['sha256']}.jpg")
    assert stored.format == "JPEG" and stored.size == (400, 400)
    # PATCHing other fields fetches nothing again
    api.call("PATCH", f"/products/{first['product_id']}", key=team.editor, json_body={"title": "Renamed"})
    assert images.hits("/images/bottle-serum.jpg") == 2


def test_images_are_normalized_upright_rgb_and_at_most_2048_px(api, team, images, new_product):
    urls = [
        images.url("/images/box-rotated.jpg?w=600&h=400&orient=6"),
        images.url("/images/jar-opaque.png?w=300&h=300&alpha=opaque"),
        images.url("/images/can-big.jpg?w=4000&h=3000"),
        images.url("/images/tube-cutout.png?w=500&h=700&alpha=1"),
        images.url("/images/pouch-web.webp?w=640&h=480"),
    ]
    product = new_product(image_urls=urls)
    assert [image["status"] for image in product["images"]] == ["ready"] * 5
    rotated, opaque, big, cutout, webp = _images(api, team.viewer, product["product_id"])

    assert (rotated["source_width"], rotated["source_height"]) == (400, 600)
    assert (rotated["width"], rotated["height"]) == (600, 400)
    upright = Image.open(io.BytesIO(product_image("box-rotated", "jpg", 600, 400, 0, 1, ""))).convert("RGB")
    stored = _object(f"images/{rotated['sha256']}.jpg")
    assert not stored.getexif().get(0x0112)
    assert max(ImageStat.Stat(ImageChops.difference(stored.convert("RGB"), upright)).mean) < 6

    assert opaque["source_type"] == "png" and opaque["content_type"] == "image/jpeg"
    assert _object(f"images/{opaque['sha256']}.jpg").mode == "RGB"

    assert (big["source_width"], big["source_height"]) == (4000, 3000)
    assert (big["width"], big["height"]) == (2048, 1536)

    assert cutout["content_type"] == "image/png"  # real transparency is kept for compositing
    assert _object(f"images/{cutout['sha256']}.png").mode == "RGBA"

    assert webp["source_type"] == "webp" and webp["content_type"] == "image/jpeg"


def test_broken_urls_fail_with_reasons_and_the_others_succeed(api, team, images, new_product):
    cases = {
        BOTTLE: ("ready", None),
        "/broken/404": ("failed", "http_status"),
        "/broken/500": ("failed", "http_status"),
        "/broken/not-an-image": ("failed", "not_an_image"),
        "/broken/truncated": ("failed", "not_an_image"),
        "/broken/huge": ("failed", "too_many_pixels"),
        "/broken/too-big": ("failed", "too_large"),
        "/broken/too-big-chunked": ("failed", "too_large"),
        "/redirect/4/images/a.jpg": ("failed", "too_many_redirects"),
        "/redirect/3/images/a.jpg": ("ready", None),
    }
    product = new_product(image_urls=[images.url(path) for path in cases])
    shown = _images(api, team.viewer, product["product_id"])
    assert [(image["status"], image["reason_code"]) for image in shown] == list(cases.values())
    by_path = dict(zip(cases, shown, strict=True))
    assert by_path["/broken/404"]["http_status"] == 404 and "404" in by_path["/broken/404"]["reason"]
    assert "100000000 pixels" in by_path["/broken/huge"]["reason"]
    assert all(image["url"] is None for image in shown if image["status"] == "failed")
    assert images.hits("/images/a.jpg") == 1

    # a failed URL is not fetched again at once, except on an explicit refresh
    new_product(title="Again", image_urls=[images.url("/broken/404")])
    assert images.hits("/broken/404") == 1
    refreshed = api.post(f"/products/{product['product_id']}/images/refresh", key=team.editor)
    assert refreshed.status == 200 and images.hits("/broken/404") == 2
    assert images.hits(BOTTLE.split("?")[0]) == 1


def test_deployed_stages_never_fetch_private_loopback_or_link_local_addresses(
    api, team, images, new_product, cloud, monkeypatch
):
    from chalicelib.integrations import http_fetch

    prod = cloud.model_copy(update={"stage": "prod"})
    monkeypatch.setattr("chalicelib.services.product_images.get_settings", lambda: prod)
    names = {
        "cdn.example.com": ["93.184.216.34"],
        "internal.example.com": ["93.184.216.34", "10.1.2.3"],  # any private answer refuses
        "metadata.example.com": ["169.254.169.254"],
    }
    http_fetch.use_resolver(lambda host, port: names[host])
    cases = {
        "http://127.0.0.1:8765/images/a.jpg": "private_address",
        "http://169.254.169.254/latest/meta-data/": "private_address",
        "http://10.0.0.1/images/a.jpg": "private_address",
        "http://[::1]/images/a.jpg": "private_address",
        "http://[::ffff:192.168.0.1]/images/a.jpg": "private_address",
        "http://internal.example.com/images/a.jpg": "private_address",
        "http://metadata.example.com/images/a.jpg": "private_address",
        "https://cdn.example.com/redirect?to=http://169.254.169.254/latest/meta-data/": "private_address",
        "https://cdn.example.com/images/ok.jpg?w=200&h=200": None,
    }
    product = new_product(image_urls=list(cases))
    shown = [(image["status"], image["reason_code"]) for image in product["images"]]
    assert shown == [("failed", code) if code else ("ready", None) for code in cases.values()]
    # nothing was sent to a refused address: only the public host's two requests arrived
    assert images.app.hits() == {"/redirect": 1, "/images/ok.jpg": 1}
