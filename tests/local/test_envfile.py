from __future__ import annotations

import subprocess
from pathlib import Path

from local.envfile import read_env_file, write_env_file


def test_env_file_round_trips_and_is_shell_safe(tmp_path: Path) -> None:
    values = {
        "CLICKTOK_API_URL": "http://127.0.0.1:8000",
        "CLICKTOK_API_KEY": "ctk_abc$def'ghi\"jkl",
        "CLICKTOK_EMPTY": "",
        "CLICKTOK_SPACES": "a b  c",
    }
    path = tmp_path / "local.env"
    write_env_file(path, values, header="a header\nof two lines")
    assert read_env_file(path) == values
    assert path.stat().st_mode & 0o777 == 0o600
    shell = subprocess.run(
        ["bash", "-c", f'set -a; . "{path}"; set +a; printf %s "$CLICKTOK_API_KEY"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shell.stdout == values["CLICKTOK_API_KEY"]
