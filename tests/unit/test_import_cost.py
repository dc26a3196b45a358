"""Importing app.py stays cheap: heavy libraries load only where they are used."""

import subprocess
import sys
from pathlib import Path

HEAVY = ("moviepy", "numpy", "openai", "matplotlib", "PIL", "boto3", "moto", "httpx")


def test_import_app_loads_no_heavy_library():
    code = f"import sys, app; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == ""
