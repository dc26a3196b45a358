"""The whole local stack in a subprocess: start, serve, stop cleanly, restart with the same keys.

Over HTTP only, as a new user does: create a TikTok Shop sandbox shop with orders, connect it
(``GET /shops/connect``, the sandbox's authorize page, the callback), let the first sync finish,
mutate orders in the sandbox, sync again, and compare ClickTok's orders with the sandbox's ground
truth; after a restart the shop is still connected and syncs (the sandbox kept its tokens).
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from local.envfile import read_env_file
from local.processes import free_port
from local.stack import READY_MARKER

REPO_ROOT = Path(__file__).resolve().parents[2]
SYNC_TIMEOUT = 60.0

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("stack")]


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Stack:
    def __init__(self, state_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLICKTOK_", "AWS_", "MOTO_"))}
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local.stack",
                "--port",
                str(port),
                "--state-dir",
                str(state_dir),
                "--snapshot-seconds",
                "0",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            if READY_MARKER in line:
                return
        pytest.fail("the stack did not become ready:\n" + "".join(self.output[-60:]))

    def stop(self) -> int:
        descendants = _children(self.process.pid)
        assert descendants, "the stack should have child processes (DynamoDB Local, chalice local)"
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in descendants) and time.monotonic() < deadline:
            time.sleep(0.1)
        leftovers = [pid for pid in descendants if _alive(pid)]
        assert not leftovers, f"processes left behind: {leftovers}"
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            for pid in _children(self.process.pid):
                os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait()


# -- the new user's TikTok Shop journey, over HTTP --------------------------------------------------


class User:
    def __init__(self, env: dict[str, str]) -> None:
        self.api = env["CLICKTOK_API_URL"]
        self.sandbox = env["CLICKTOK_SANDBOX_TIKTOK_SHOP_URL"]
        self.http = httpx.Client(headers={"authorization": f"Bearer {env['CLICKTOK_API_KEY']}"}, timeout=30)

    def sandbox_call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, f"{self.sandbox}/_sandbox{path}", json=body, timeout=30)
        assert response.is_success, response.text
        return response.json()

    def connect(self, shop_id: str) -> dict[str, Any]:
        started = self.http.get(f"{self.api}/shops/connect")
        assert started.status_code == 200, started.text
        # the seller approves on TikTok's page, which redirects back to ClickTok's callback
        page = httpx.get(f"{started.json()['authorize_url']}&sandbox_shop_id={shop_id}", timeout=30)
        assert page.status_code == 302, page.text
        callback = page.headers["location"]
        assert callback.startswith(f"{self.api}/shops/oauth/callback?"), callback
        connected = httpx.get(callback, timeout=60)  # the seller's browser, no API key
        assert connected.status_code == 200, connected.text
        return connected.json()

    def wait_for_sync(self, shop_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + SYNC_TIMEOUT
        while True:
            status = self.http.get(f"{self.api}/shops/{shop_id}/sync")
            assert status.status_code == 200, status.text
            streams = status.json()["streams"]
            states = {name: stream["state"] for name, stream in streams.items()}
            if set(states) >= {"orders", "products"} and set(states.values()) <= {"succeeded", "failed"}:
                assert set(states.values()) == {"succeeded"}, streams
                return streams
            assert time.monotonic() < deadline, f"sync not finished within {SYNC_TIMEOUT}s: {streams}"
            time.sleep(0.25)

    def sync(self, shop_id: str) -> dict[str, Any]:
        # A sync reads update_time up to the second it starts, excluded: what changed in that same
        # second comes with the next sync. A user clicks "sync" later than that; so does this test.
        time.sleep(1.05 - time.time() % 1)
        requested = self.http.post(f"{self.api}/shops/{shop_id}/sync", json={})
        assert requested.status_code == 202, requested.text
        return self.wait_for_sync(shop_id)

    def orders(self, shop_id: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        cursor: str | None = None
        while True:
            params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
            page = self.http.get(f"{self.api}/shops/{shop_id}/orders", params=params)
            assert page.status_code == 200, page.text
            for order in page.json()["items"]:
                assert order["order_id"] not in found, f"order {order['order_id']} listed twice"
                found[order["order_id"]] = order
            cursor = page.json()["next_cursor"]
            if not cursor:
                return found

    def assert_matches_sandbox(self, shop_id: str) -> int:
        truth = {o["id"]: o for o in self.sandbox_call("GET", f"/shops/{shop_id}/orders")["orders"]}
        ours = self.orders(shop_id)
        assert len(ours) == len(truth)
        assert set(ours) == set(truth)
        mismatched = [i for i, o in truth.items() if ours[i]["status"] != o["status"]]
        assert not mismatched, f"{len(mismatched)} orders with another status, e.g. {mismatched[:3]}"
        first = min(o["create_time"] for o in truth.values())
        days = {
            "from": datetime.fromtimestamp(first, UTC).date().isoformat(),
            "to": datetime.now(UTC).date().isoformat(),
        }
        stats = self.http.get(f"{self.api}/shops/{shop_id}/orders/stats", params=days)
        assert stats.status_code == 200, stats.text
        assert stats.json()["orders"] == len(truth)
        assert stats.json()["by_status"] == dict(Counter(o["status"] for o in truth.values()))
        return len(truth)


@pytest.fixture
def stacks() -> Iterator[list[Stack]]:
    started: list[Stack] = []
    yield started
    for stack in started:
        stack.kill()


def test_stack_starts_stops_cleanly_and_keeps_its_state(tmp_path: Path, stacks: list[Stack]) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}"

    first = Stack(tmp_path, port)
    stacks.append(first)
    first.wait_ready()
    assert httpx.get(f"{api}/health", timeout=10).status_code == 200
    env = read_env_file(tmp_path / "local.env")
    assert env["CLICKTOK_API_URL"] == api
    for name in (
        "CLICKTOK_STAGE",
        "CLICKTOK_AWS_ENDPOINT_URL",
        "CLICKTOK_TABLE_ENTITIES",
        "CLICKTOK_BUCKET_MEDIA",
    ):
        assert env.get(name), name
    s3 = boto3.client(
        "s3",
        endpoint_url=env["CLICKTOK_AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    s3.put_object(Bucket=env["CLICKTOK_BUCKET_MEDIA"], Key="e2e/probe.txt", Body=b"kept")

    # a new user connects a sandbox shop, syncs, changes orders in the sandbox, syncs again
    user = User(env)
    shop = user.sandbox_call("POST", "/shops", {"name": "E2E Beauty"})
    shop_id = shop["shop_id"]
    user.sandbox_call("POST", f"/shops/{shop_id}/orders:generate", {"count": 300, "seed": 7, "days": 30})
    connected = user.connect(shop_id)
    assert [s["shop_id"] for s in connected["shops"]] == [shop_id]
    assert connected["shops"][0]["status"] == "connected"
    streams = user.wait_for_sync(shop_id)  # connecting queues the first (full) sync
    assert streams["orders"]["stats"]["orders_seen"] == 300
    assert user.assert_matches_sandbox(shop_id) == 300
    order_id = next(iter(user.orders(shop_id)))
    webhook = user.sandbox_call(  # signed with the app secret ClickTok reads from Secrets Manager
        "POST", f"/shops/{shop_id}/webhooks:send", {"type": "ORDER_STATUS_CHANGE", "order_id": order_id}
    )
    assert webhook["status"] == 200, webhook
    mutated = user.sandbox_call("POST", f"/shops/{shop_id}/orders:mutate", {"count": 40, "seed": 8})
    streams = user.sync(shop_id)
    assert streams["orders"]["stats"]["orders_seen"] >= len(mutated["changed"]) + len(mutated["added"])
    assert user.assert_matches_sandbox(shop_id) == mutated["total"]
    assert first.stop() == 0

    second = Stack(tmp_path, port)
    stacks.append(second)
    second.wait_ready()
    again = read_env_file(tmp_path / "local.env")
    for name in ("CLICKTOK_OPERATOR_KEY", "CLICKTOK_API_KEY", "CLICKTOK_TENANT_ID"):
        assert again.get(name) and again[name] == env.get(name), f"{name} changed or is missing"
    s3 = boto3.client(
        "s3",
        endpoint_url=again["CLICKTOK_AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    assert s3.get_object(Bucket=again["CLICKTOK_BUCKET_MEDIA"], Key="e2e/probe.txt")["Body"].read() == b"kept"
    for key in (again["CLICKTOK_API_KEY"], again["CLICKTOK_OPERATOR_KEY"]):
        me = httpx.get(f"{api}/me", headers={"authorization": f"Bearer {key}"}, timeout=10)
        assert me.status_code == 200, me.text

    # the sandbox kept its shops, orders and tokens: the shop is still connected and syncs
    user = User(again)
    assert again["CLICKTOK_SANDBOX_TIKTOK_SHOP_URL"], "the sandbox URL is missing from local.env"
    assert user.sandbox_call("GET", f"/shops/{shop_id}")["orders"] == mutated["total"]
    kept = user.http.get(f"{api}/shops/{shop_id}")
    assert kept.status_code == 200, kept.text
    assert kept.json()["status"] == "connected"
    mutated = user.sandbox_call("POST", f"/shops/{shop_id}/orders:mutate", {"count": 20, "seed": 9})
    user.sync(shop_id)
    assert user.assert_matches_sandbox(shop_id) == mutated["total"]
    assert user.http.get(f"{api}/shops/{shop_id}").json()["status"] == "connected"
    assert second.stop() == 0
