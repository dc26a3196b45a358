"""``.clicktok/local.env``: shell assignments (``NAME=value``, values quoted for POSIX shells).

``set -a; . .clicktok/local.env; set +a`` exports them; :func:`read_env_file` parses them back.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def format_env(values: Mapping[str, str], header: str = "") -> str:
    lines = [f"# {line}" for line in header.splitlines()]
    for name, value in values.items():
        if not _NAME.match(name):
            raise ValueError(f"not a shell variable name: {name!r}")
        lines.append(f"{name}={shlex.quote(str(value))}")
    return "\n".join(lines) + "\n"


def write_env_file(path: Path, values: Mapping[str, str], header: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(format_env(values, header))
    os.chmod(tmp, 0o600)  # it holds API keys
    tmp.replace(path)


def read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        name, sep, rest = line.partition("=")
        if not sep or not _NAME.match(name):
            continue
        parts = shlex.split(rest, posix=True) if rest else [""]
        values[name] = parts[0] if parts else ""
    return values
