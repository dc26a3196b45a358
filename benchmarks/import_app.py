"""Cold-start cost of the API Lambda: the time to ``import app`` in a fresh interpreter.

Prints one JSON line: the median over fresh processes of the interpreter alone (baseline),
``import chalice`` (the framework floor) and ``import app``, in milliseconds.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 15


def median_ms(code: str) -> float:
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        samples.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(samples), 1)


def main() -> None:
    interpreter = median_ms("pass")
    chalice = median_ms("import chalice.app")
    app = median_ms("import app")
    print(
        json.dumps(
            {
                "benchmark": "import_app",
                "runs": RUNS,
                "interpreter_ms": interpreter,
                "import_chalice_ms": chalice,
                "import_app_ms": app,
                "app_over_interpreter_ms": round(app - interpreter, 1),
                "app_over_chalice_ms": round(app - chalice, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
