def test_health_checks_the_table_and_the_bucket(api):
    answer = api.get("/health")
    assert answer.status == 200, answer.body
    assert answer.body["status"] == "ok"
    assert answer.body["checks"] == {"table": "ok", "bucket": "ok"}
    assert answer.body["version"]


def test_health_is_503_when_the_bucket_is_gone(api, cloud):
    from chalicelib.integrations.aws.clients import client

    client("s3").delete_bucket(Bucket=cloud.bucket("media"))
    answer = api.get("/health")
    assert answer.status == 503
    assert answer.body["status"] == "degraded"
    assert answer.body["checks"] == {"table": "ok", "bucket": "error"}
