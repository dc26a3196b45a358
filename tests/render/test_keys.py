"""render_key is deterministic and changes with any input."""

from __future__ import annotations

from decimal import Decimal

from chalicelib.render.keys import asset_digests, file_sha256, render_key
from chalicelib.render.template import load_builtin, parse_params, parse_template

PRODUCT = {"title": "Earbuds", "price": Decimal("49.99"), "currency": "USD"}
ASSETS = ["a" * 64, "b" * 64, "", "", "", ""]


def key(**overrides):
    args = {
        "template": load_builtin("modern"),
        "product": PRODUCT,
        "params": {"cta_text": "Buy"},
        "asset_sha256s": ASSETS,
        "size": "1080x1920",
        "duration": 15,
    }
    args.update(overrides)
    return render_key(**args)


def test_key_is_deterministic_and_canonical():
    first = key()
    assert len(first) == 64 and int(first, 16) >= 0
    assert key() == first
    # Equal values in other spellings give the same key.
    assert key(product={"currency": "USD", "price": "49.99", "title": "Earbuds"}) == first
    assert key(product={**PRODUCT, "price": 49.99}) == first
    assert key(params=parse_params({"cta_text": "Buy"})) == first
    assert key(duration=15.0) == first
    reparsed = parse_template(load_builtin("modern").model_dump(mode="json"))
    assert key(template=reparsed) == first


def test_key_changes_with_every_input():
    base = key()
    modern = load_builtin("modern")
    tweaked = modern.model_copy(update={"version": modern.version + 1})
    variants = [
        key(template=load_builtin("minimal")),
        key(template=tweaked),
        key(product={**PRODUCT, "title": "Earbuds 2"}),
        key(product={**PRODUCT, "price": "39.99"}),
        key(product={**PRODUCT, "currency": "EUR"}),
        key(params={"cta_text": "Shop"}),
        key(params={}),
        key(asset_sha256s=["c" * 64, *ASSETS[1:]]),
        key(asset_sha256s=list(reversed(ASSETS))),
        key(size="720x1280"),
        key(duration=16),
        key(caption_lines=["Hello"]),
    ]
    assert base not in variants
    assert len(set(variants)) == len(variants)


def test_asset_digests_hash_file_bytes(tmp_path):
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    a.write_bytes(b"one")
    b.write_bytes(b"one")
    assert file_sha256(a) == file_sha256(b)
    digests = asset_digests([a], music=b)
    assert digests == [file_sha256(a), "", file_sha256(b), "", ""]
