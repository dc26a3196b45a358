"""Secrets live in Secrets Manager under the stage's prefix, read with caching."""

import pytest


@pytest.fixture
def secrets(cloud):
    from chalicelib.integrations.aws import secrets

    secrets.reset_secrets_cache()
    yield secrets
    secrets.reset_secrets_cache()


def test_write_read_replace_delete(secrets, cloud):
    from chalicelib.integrations.aws.clients import client

    secrets.write_secret("shops/7001", {"access_token": "a1", "refresh_token": "r1"})
    stored = client("secretsmanager").describe_secret(SecretId="clicktok/test/shops/7001")
    assert stored["Name"] == "clicktok/test/shops/7001"
    assert secrets.read_secret("shops/7001") == {"access_token": "a1", "refresh_token": "r1"}
    secrets.write_secret("shops/7001", {"access_token": "a2", "refresh_token": "r2"})
    assert secrets.read_secret("shops/7001")["access_token"] == "a2"
    secrets.delete_secret("shops/7001")
    with pytest.raises(secrets.SecretNotFound):
        secrets.read_secret("shops/7001", fresh=True)


def test_reads_are_cached(secrets, cloud):
    from chalicelib.integrations.aws.clients import client

    secrets.write_secret("platform/app", {"app_secret": "s1"})
    assert secrets.read_secret("platform/app") == {"app_secret": "s1"}
    # changed behind our back: the cache still answers until it is refreshed
    client("secretsmanager").put_secret_value(
        SecretId="clicktok/test/platform/app", SecretString='{"app_secret": "s2"}'
    )
    assert secrets.read_secret("platform/app") == {"app_secret": "s1"}
    assert secrets.read_secret("platform/app", fresh=True) == {"app_secret": "s2"}
