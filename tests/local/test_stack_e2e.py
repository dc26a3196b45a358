"""The whole local stack in a subprocess: start, serve, stop cleanly, restart with the same keys."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from local.envfile import read_env_file
from local.processes import free_port
from local.stack import READY_MARKER

REPO_ROOT = Path(__file__).resolve().parents[2]

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
    assert second.stop() == 0
