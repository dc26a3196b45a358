"""Nothing secret reaches the logs, whatever field it hides in."""

import json
import logging

from chalicelib.observability import RedactingFormatter, redact


def test_redact_hides_secret_fields_and_values():
    record = {
        "api_key": "ctk_abcdefghijklmnop",
        "nested": {"access_token": "tok", "refresh_token": "r", "shop": "s1"},
        "headers": {"Authorization": "Bearer abc.def"},
        "note": "client sent ctk_zzzzzzzzzzzzzzzzzzzz by mistake",
        "items": [{"client_secret": "x"}],
        "count": 3,
    }
    cleaned = redact(record)
    assert cleaned["api_key"] == "[REDACTED]"
    assert cleaned["nested"] == {"access_token": "[REDACTED]", "refresh_token": "[REDACTED]", "shop": "s1"}
    assert cleaned["headers"]["Authorization"] == "[REDACTED]"
    assert "ctk_zzzz" not in cleaned["note"]
    assert cleaned["items"][0]["client_secret"] == "[REDACTED]"
    assert cleaned["count"] == 3


def test_the_logger_formatter_redacts_messages_and_extras():
    formatter = RedactingFormatter(service="clicktok")
    record = logging.LogRecord(
        "t", logging.INFO, __file__, 1, "key ctk_abcdefghijklmnopqrstu used", None, None
    )
    record.token = "super-secret-token"
    record.shop_id = "7001"
    line = json.loads(formatter.format(record))
    assert "ctk_abcdefghijklmnopqrstu" not in line["message"]
    assert line["token"] == "[REDACTED]"
    assert line["shop_id"] == "7001"
