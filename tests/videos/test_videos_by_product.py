"""GET /videos?product_id= reads one product's jobs from the entities table's ``by_parent`` index."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest


@dataclass
class Query:
    index_name: str | None
    items: list[dict[str, Any]]
    scanned: int


@dataclass
class QuerySpy:
    queries: list[Query] = field(default_factory=list)

    def clear(self) -> None:
        self.queries.clear()


@pytest.fixture
def query_spy(monkeypatch: pytest.MonkeyPatch) -> Iterator[QuerySpy]:
    """Every DynamoDB Query PynamoDB sends: the index it names and the items DynamoDB read."""
    from pynamodb.connection.base import Connection

    real = Connection.query
    spy = QuerySpy()

    def query(self: Any, table_name: str, hash_key: str, *args: Any, **kwargs: Any) -> Any:
        answer = real(self, table_name, hash_key, *args, **kwargs)
        spy.queries.append(Query(kwargs.get("index_name"), answer.get("Items", []), answer["ScannedCount"]))
        return answer

    monkeypatch.setattr(Connection, "query", query)
    yield spy


def _queue(api: Any, key: str, product_id: str) -> str:
    body = {"product_id": product_id, "template_id": "minimal", "duration": 6}
    answer = api.post("/videos", key=key, json_body=body)
    assert answer.status == 202, answer.body
    return str(answer.body["video_id"])


def _set_status(tenant_id: str, video_id: str, status: str) -> None:
    from chalicelib.store.videos import VideoJobItem

    VideoJobItem(*VideoJobItem.key(tenant_id, video_id)).update(actions=[VideoJobItem.status.set(status)])


def test_one_products_jobs_come_from_the_index_newest_first_and_page(
    api, team, new_product, make_tenant, query_spy
):
    from chalicelib.services import templates, videos

    first, second = new_product(title="First")["product_id"], new_product(title="Second")["product_id"]
    mine: list[str] = []
    for _ in range(5):  # interleaved with the other product's jobs in the tenant's partition
        mine.append(_queue(api, team.editor, first))
        _queue(api, team.editor, second)
        _queue(api, team.editor, second)
    preview = api.post("/templates/modern/preview", key=team.viewer, json_body={"product_id": first})
    assert preview.status == 202
    mine.append(preview.body["video_id"])  # a template preview of the product is one of its jobs
    api.post("/templates/modern/preview", key=team.viewer, json_body={})  # the sample product: no parent
    # another tenant's job of a product with the very same id
    other = make_tenant("Other Co")
    template = templates.get_template(other.tenant_id, "minimal").template
    stranger = videos._new_item(
        other.tenant_id,
        kind="video",
        product_id=first,
        template=template,
        request=videos.VideoRequest(template_id="minimal", duration=6),
        size="720x1280",
        params={},
        created_by=None,
        now=datetime.now(UTC),
    )
    stranger.save()
    for video_id in mine[1:4]:
        _set_status(team.tenant_id, video_id, "ready")

    query_spy.clear()
    pages = api.pages(f"/videos?product_id={first}&limit=2", team.viewer)
    listed = [video["video_id"] for page in pages for video in page["items"]]
    assert listed == sorted(mine, reverse=True)  # newest first (ids are time-ordered)
    assert [len(page["items"]) for page in pages] == [2, 2, 2]
    assert {video["product_id"] for page in pages for video in page["items"]} == {first}
    # every read went to the index, and it read nothing but this product's jobs of this tenant
    assert query_spy.queries and {q.index_name for q in query_spy.queries} == {"by_parent"}
    read = [item for q in query_spy.queries for item in q.items]
    assert {(i["tenant_id"]["S"], i["product_id"]["S"]) for i in read} == {(team.tenant_id, first)}
    assert sum(q.scanned for q in query_spy.queries) == sum(len(q.items) for q in query_spy.queries)

    # the status filter applies within the product's jobs
    query_spy.clear()
    ready = api.pages(f"/videos?product_id={first}&status=ready&limit=2", team.viewer)
    assert [v["video_id"] for page in ready for v in page["items"]] == sorted(mine[1:4], reverse=True)
    assert {q.index_name for q in query_spy.queries} == {"by_parent"}
    assert all(q.scanned <= len(mine) for q in query_spy.queries)  # the product's jobs at most
    queued = api.get(f"/videos?product_id={first}&status=queued&limit=50", key=team.viewer).body
    assert len(queued["items"]) == 3 and queued["next_cursor"] is None

    # the other product, the other tenant, and a product without jobs
    assert len(api.get(f"/videos?product_id={second}&limit=50", key=team.viewer).body["items"]) == 10
    theirs = api.get(f"/videos?product_id={first}", key=other.owner_key).body["items"]
    assert [v["video_id"] for v in theirs] == [stranger.video_id]
    none = api.get("/videos?product_id=manual:none", key=team.viewer).body
    assert none == {"items": [], "next_cursor": None}

    # the tenant-wide listing still has every job, from the tenant's partition
    query_spy.clear()
    every = [v["video_id"] for page in api.pages("/videos?limit=50", team.viewer) for v in page["items"]]
    assert len(every) == 17 and {q.index_name for q in query_spy.queries} == {None}


def test_a_cursor_is_bound_to_its_product_and_filters(api, team, new_product):
    first, second = new_product(title="First")["product_id"], new_product(title="Second")["product_id"]
    for product_id in (first, first, first, second):
        _queue(api, team.editor, product_id)
    page = api.get(f"/videos?product_id={first}&limit=1", key=team.viewer).body
    cursor = page["next_cursor"]
    assert cursor
    assert api.get(f"/videos?product_id={first}&limit=1&cursor={cursor}", key=team.viewer).status == 200
    for other in (
        f"/videos?product_id={second}&limit=1",
        f"/videos?product_id={first}&status=queued&limit=1",
        "/videos?limit=1",
    ):
        refused = api.get(f"{other}&cursor={cursor}", key=team.viewer)
        assert refused.status == 400 and refused.body["error"]["details"][0]["field"] == "cursor", other
    tenant_cursor = api.get("/videos?limit=1", key=team.viewer).body["next_cursor"]
    refused = api.get(f"/videos?product_id={first}&limit=1&cursor={tenant_cursor}", key=team.viewer)
    assert refused.status == 400


def test_provisioning_adds_an_index_a_kept_table_lacks(cloud):
    from chalicelib.integrations.aws.clients import client
    from local.provision import create_tables

    dynamodb = client("dynamodb")
    name = cloud.table("entities")
    drop = {"Delete": {"IndexName": "by_parent"}}
    dynamodb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[drop])

    def indexes() -> set[str]:
        table = dynamodb.describe_table(TableName=name)["Table"]
        return {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}

    assert indexes() == {"by_due"}
    create_tables(cloud)
    assert indexes() == {"by_due", "by_parent"}
    create_tables(cloud)  # idempotent
    assert indexes() == {"by_due", "by_parent"}
