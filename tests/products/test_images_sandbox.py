"""The product-image sandbox: deterministic pictures of the asked size, and its broken cases."""

from __future__ import annotations

import io

import httpx
from PIL import Image

from local.sandboxes.images import create_app


def test_pictures_are_deterministic_and_sized_and_broken_cases_break():
    app = create_app()
    web = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://images.test")
    first = web.get("/images/bottle-serum.jpg?w=320&h=480&seed=7")
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert web.get("/images/bottle-serum.jpg?w=320&h=480&seed=7").content == first.content
    assert web.get("/images/bottle-serum.jpg?w=320&h=480&seed=8").content != first.content
    assert Image.open(io.BytesIO(first.content)).size == (320, 480)
    for ext, fmt in (("png", "PNG"), ("webp", "WEBP")):
        picture = Image.open(io.BytesIO(web.get(f"/images/1729384756.{ext}?w=200&h=150").content))
        assert (picture.format, picture.size) == (fmt, (200, 150))
    cutout = Image.open(io.BytesIO(web.get("/images/jar.png?w=100&h=100&alpha=1").content))
    assert cutout.mode == "RGBA" and cutout.getchannel("A").getextrema() == (0, 255)
    turned = Image.open(io.BytesIO(web.get("/images/box.jpg?w=300&h=200&orient=6").content))
    assert turned.size == (200, 300) and turned.getexif()[0x0112] == 6

    assert web.get("/broken/404").status_code == 404
    assert web.get("/broken/not-an-image").content.startswith(b"<!doctype html>")
    assert web.get("/redirect/2/images/a.jpg").headers["location"] == "/redirect/1/images/a.jpg"
    assert web.get("/images/a.jpg?w=99999").status_code == 400
    assert app.hits("/broken/404") == 1
