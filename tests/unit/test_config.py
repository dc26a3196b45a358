"""Settings are validated at start with messages that name the variable."""

import pytest

from chalicelib.config import ConfigError, load_settings
from local.provision import local_environment


@pytest.fixture
def env():
    return local_environment("local", "http://127.0.0.1:5000")


def test_a_complete_environment_loads(env):
    settings = load_settings({**env, "CLICKTOK_AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})
    assert settings.stage == "local"
    assert settings.table("entities") == "clicktok-local-entities"
    assert settings.secrets_prefix == "clicktok/local/"
    assert settings.endpoint_for("s3") == "http://127.0.0.1:5000"
    assert settings.endpoint_for("dynamodb") == "http://127.0.0.1:5000"


def test_a_missing_table_name_is_named(env):
    del env["CLICKTOK_TABLE_AUDIT"]
    with pytest.raises(ConfigError, match="CLICKTOK_TABLE_AUDIT"):
        load_settings(env)


def test_an_unknown_stage_is_named(env):
    env["CLICKTOK_STAGE"] = "production"
    with pytest.raises(ConfigError, match="CLICKTOK_STAGE='production'"):
        load_settings(env)


def test_a_malformed_url_is_named(env):
    env["CLICKTOK_DYNAMODB_ENDPOINT_URL"] = "localhost:8000 oops"
    with pytest.raises(ConfigError, match="CLICKTOK_DYNAMODB_ENDPOINT_URL"):
        load_settings(env)


def test_a_bad_number_is_named(env):
    env["CLICKTOK_RATE_LIMIT_PER_MINUTE"] = "many"
    with pytest.raises(ConfigError, match="CLICKTOK_RATE_LIMIT_PER_MINUTE"):
        load_settings(env)
