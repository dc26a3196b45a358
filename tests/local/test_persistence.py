from __future__ import annotations

from pathlib import Path

import boto3
from moto import mock_aws

from local.persistence import dump_state, restore_state


def _clients() -> dict[str, object]:
    return {
        name: boto3.client(service, region_name="us-east-1")
        for name, service in (("s3", "s3"), ("secrets", "secretsmanager"), ("sqs", "sqs"))
    }


def test_objects_secrets_and_messages_survive_dump_and_restore(tmp_path: Path) -> None:
    with mock_aws():
        c = _clients()
        s3, secrets, sqs = c["s3"], c["secrets"], c["sqs"]
        s3.create_bucket(Bucket="media")
        s3.put_object(
            Bucket="media",
            Key="videos/a b.mp4",
            Body=b"\x00video",
            ContentType="video/mp4",
            Metadata={"job": "j1"},
        )
        s3.put_object(Bucket="media", Key="empty", Body=b"")
        secrets.create_secret(Name="clicktok/local/tiktok/shop-1", SecretString='{"token": "t"}')
        secrets.create_secret(Name="binary", SecretBinary=b"\x01\x02")
        url = sqs.create_queue(QueueName="clicktok-local-render")["QueueUrl"]
        sqs.send_message(
            QueueUrl=url,
            MessageBody="pending",
            MessageAttributes={"kind": {"DataType": "String", "StringValue": "render"}},
        )
        sqs.send_message(QueueUrl=url, MessageBody="in flight")
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=300)
        counts = dump_state(tmp_path, s3=s3, secrets=secrets, region="us-east-1")
        assert counts == {"objects": 2, "secrets": 2, "messages": 2}

    with mock_aws():  # a fresh, empty moto
        c = _clients()
        s3, secrets, sqs = c["s3"], c["secrets"], c["sqs"]
        restored = restore_state(tmp_path, s3=s3, secrets=secrets, sqs=sqs)
        assert restored == {"objects": 2, "secrets": 2, "messages": 2}
        video = s3.get_object(Bucket="media", Key="videos/a b.mp4")
        assert video["Body"].read() == b"\x00video"
        assert video["ContentType"] == "video/mp4" and video["Metadata"] == {"job": "j1"}
        assert s3.get_object(Bucket="media", Key="empty")["Body"].read() == b""
        value = secrets.get_secret_value(SecretId="clicktok/local/tiktok/shop-1")
        assert value["SecretString"] == '{"token": "t"}'
        assert secrets.get_secret_value(SecretId="binary")["SecretBinary"] == b"\x01\x02"
        url = sqs.get_queue_url(QueueName="clicktok-local-render")["QueueUrl"]
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        by_body = {m["Body"]: m for m in messages["Messages"]}
        assert set(by_body) == {"pending", "in flight"}  # in-flight messages come back visible
        assert by_body["pending"]["MessageAttributes"]["kind"]["StringValue"] == "render"

        # a second dump reuses stored blobs and drops those no longer referenced
        s3.delete_object(Bucket="media", Key="empty")
        assert dump_state(tmp_path, s3=s3, secrets=secrets, region="us-east-1")["objects"] == 1
        assert len(list((tmp_path / "moto" / "s3").iterdir())) == 1


def test_restore_without_snapshot_is_a_no_op(tmp_path: Path) -> None:
    with mock_aws():
        c = _clients()
        assert restore_state(tmp_path, s3=c["s3"], secrets=c["secrets"], sqs=c["sqs"]) == {
            "objects": 0,
            "secrets": 0,
            "messages": 0,
        }
