"""The fetcher's address rules and the image normalizer, without the API."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from chalicelib.domain import images
from chalicelib.integrations import http_fetch
from local.sandboxes.images import create_app


@pytest.mark.parametrize(
    ("address", "loopback_ok", "allowed"),
    [
        ("8.8.8.8", False, True),
        ("2606:4700:4700::1111", False, True),
        ("127.0.0.1", False, False),
        ("127.0.0.1", True, True),
        ("::1", True, True),
        ("10.0.0.1", True, False),
        ("172.16.5.4", True, False),
        ("192.168.1.1", True, False),
        ("169.254.169.254", True, False),
        ("fe80::1", True, False),
        ("fd00::1", True, False),
        ("::ffff:10.0.0.1", True, False),
        ("100.64.0.1", True, False),
        ("0.0.0.0", True, False),
        ("224.0.0.1", True, False),
        ("not-an-ip", True, False),
    ],
)
def test_address_rules(address, loopback_ok, allowed):
    assert http_fetch.address_allowed(address, allow_loopback=loopback_ok) is allowed


def test_refused_before_connecting_and_checked_again_on_every_redirect():
    app = create_app()
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(str(request.url))
        return httpx.WSGITransport(app=app).handle_request(request)

    http_fetch.use_transport(httpx.MockTransport(handler))
    http_fetch.use_resolver(lambda host, port: {"public.test": ["93.184.216.34"]}[host])
    try:
        for url in ("http://127.0.0.1/x", "http://169.254.169.254/", "http://10.0.0.1/", "gopher://x/"):
            with pytest.raises(http_fetch.FetchError) as refused:
                http_fetch.fetch(url, allow_loopback=False, max_bytes=1000)
            assert refused.value.code in ("private_address", "bad_url")
        assert sent == []
        with pytest.raises(http_fetch.FetchError) as refused:
            http_fetch.fetch(
                "http://public.test/redirect?to=http://127.0.0.1:9/images/a.jpg",
                allow_loopback=False,
                max_bytes=10,
            )
        assert refused.value.code == "private_address"
        assert sent == ["http://93.184.216.34/redirect?to=http://127.0.0.1:9/images/a.jpg"]
        # the request goes to the checked address, with the name in Host
        fetched = http_fetch.fetch(
            "http://public.test/images/a.jpg?w=64&h=64", allow_loopback=False, max_bytes=1_000_000
        )
        assert fetched.data[:3] == b"\xff\xd8\xff" and sent[-1].startswith("http://93.184.216.34/")
    finally:
        http_fetch.use_transport(None)
        http_fetch.use_resolver(None)


def _encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_normalize_converts_colour_modes_and_keeps_real_transparency():
    cmyk = images.normalize(_encoded(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG"))
    assert cmyk.extension == "jpg" and Image.open(io.BytesIO(cmyk.data)).mode == "RGB"
    grey = images.normalize(_encoded(Image.new("L", (40, 30), 128), "PNG"))
    assert grey.extension == "jpg" and Image.open(io.BytesIO(grey.data)).mode == "RGB"
    palette = Image.new("P", (20, 20), 0)
    palette.info["transparency"] = 0
    assert images.normalize(_encoded(palette, "PNG", transparency=0)).extension == "png"
    sixteen = images.normalize(_encoded(Image.new("I;16", (20, 20), 40000), "PNG"))
    assert Image.open(io.BytesIO(sixteen.data)).mode == "RGB"
    # deterministic: the same input gives the same bytes, so the same content address
    data = _encoded(Image.new("RGB", (3000, 100), (10, 200, 30)), "PNG")
    first, second = images.normalize(data), images.normalize(data)
    assert first.sha256 == second.sha256 and (first.width, first.height) == (2048, 68)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"GIF89a" + bytes(40), "not_an_image"),
        (b"<html>" + bytes(40), "not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), "not_an_image"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(20), "not_an_image"),
        (bytes(images.MAX_BYTES + 1), "too_large"),
    ],
)
def test_normalize_rejects_what_is_not_a_usable_image(data, code):
    with pytest.raises(images.ImageRejected) as rejected:
        images.normalize(data)
    assert rejected.value.code == code


def test_a_decompression_bomb_is_refused_from_its_header():
    bomb = _encoded(Image.new("1", (8000, 6000)), "PNG")
    assert len(bomb) < 100_000
    with pytest.raises(images.ImageRejected) as rejected:
        images.normalize(bomb)
    assert rejected.value.code == "too_many_pixels"
