import hashlib
import hmac
import json

from chalicelib.integrations.tiktok_shop.signing import (
    shop_cipher_allowed,
    sign_request,
    verify_webhook,
    webhook_signature,
)


def _reference(secret: str, text: bytes) -> str:
    wrapped = secret.encode() + text + secret.encode()
    return hmac.new(secret.encode(), wrapped, hashlib.sha256).hexdigest()


def test_contract_test_vector():
    assert (
        sign_request("app_secret", "/test-api", {"foo": "bar"})
        == "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"
    )


def test_sign_and_access_token_are_not_signed():
    base = sign_request("app_secret", "/test-api", {"foo": "bar"})
    extra = {"foo": "bar", "sign": "x", "access_token": "t", "x-tts-access-token": "t"}
    assert sign_request("app_secret", "/test-api", extra) == base


def test_keys_sorted_by_byte_order_and_concatenated_without_separators():
    query = {"timestamp": "1700000000", "app_key": "k", "Zed": "1", "shop_cipher": "C", "_x": "2"}
    expected = _reference("s", b"/p" + b"Zed1_x2app_keykshop_cipherCtimestamp1700000000")
    assert sign_request("s", "/p", query) == expected


def test_list_values_are_comma_joined():
    expected = _reference("s", b"/order/202309/ordersapp_keykidsa,b,c")
    assert sign_request("s", "/order/202309/orders", {"app_key": "k", "ids": ["a", "b", "c"]}) == expected
    assert sign_request("s", "/order/202309/orders", {"app_key": "k", "ids": "a,b,c"}) == expected


def test_body_bytes_are_appended_exactly():
    body = json.dumps(
        {"order_status": "COMPLETED", "name": "café"}, separators=(",", ":"), ensure_ascii=False
    )
    raw = body.encode()
    expected = _reference("s", b"/order/202309/orders/searchapp_keykpage_size10" + raw)
    assert (
        sign_request("s", "/order/202309/orders/search", {"app_key": "k", "page_size": 10}, raw) == expected
    )
    # a different serialisation of the same JSON signs differently: the sent bytes must be these
    other = json.dumps({"order_status": "COMPLETED", "name": "café"}).encode()
    assert (
        sign_request("s", "/order/202309/orders/search", {"app_key": "k", "page_size": 10}, other) != expected
    )


def test_signature_is_lowercase_hex():
    sign = sign_request("s", "/p", {"a": "1"})
    assert sign == sign.lower() and len(sign) == 64


def test_webhook_signature_and_verification():
    body = b'{"type":1,"shop_id":"1","data":{"order_id":"5"}}'
    header = webhook_signature("key", "secret", body)
    assert header == hmac.new(b"secret", b"key" + body, hashlib.sha256).hexdigest()
    assert verify_webhook("key", "secret", body, header)
    assert not verify_webhook("key", "secret", body + b" ", header)
    assert not verify_webhook("key", "other", body, header)
    assert not verify_webhook("key", "secret", body, None)
    assert not verify_webhook("key", "secret", body, "")
    assert not verify_webhook("key", "secret", body, "Bearer " + header)


def test_shop_cipher_rules():
    assert not shop_cipher_allowed("GET", "/authorization/202309/shops")
    assert not shop_cipher_allowed("GET", "/seller/202309/shops")
    assert not shop_cipher_allowed("POST", "/product/202309/global_products/search")
    assert not shop_cipher_allowed("POST", "/product/202309/images/upload")
    assert not shop_cipher_allowed("POST", "/product/202309/brands")
    assert shop_cipher_allowed("GET", "/product/202309/brands")
    assert shop_cipher_allowed("POST", "/order/202309/orders/search")
    assert shop_cipher_allowed("GET", "/analytics/202405/shop/performance")
