"""Build the dependencies layer shared by every Chalice function.

``pip install`` the pinned runtime requirements (``layers/requirements.txt``, which includes the root
``requirements.txt``) as manylinux x86_64 CPython 3.11 wheels into ``build/layer/python``, the
layout Lambda expects. The build is cached: a stamp file records a hash of the requirement files and
of the install options, and a build whose hash matches is reused without touching the network.

Run as ``python layers/build.py`` or call :func:`build_layer`; prints the layer directory.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
DEFAULT_OUTPUT = REPO_ROOT / "build" / "layer"

PYTHON_VERSION = "3.11"
PLATFORM = "manylinux2014_x86_64"
PIP_OPTIONS: tuple[str, ...] = (
    "--platform",
    PLATFORM,
    "--only-binary=:all:",
    "--python-version",
    PYTHON_VERSION,
    "--implementation",
    "cp",
    "--no-compile",
    "--disable-pip-version-check",
    "--quiet",
)
# The Lambda Python runtime ships these; a second copy in the layer would only shadow the runtime's.
PROVIDED_BY_RUNTIME: tuple[str, ...] = ("boto3", "botocore", "s3transfer")

_INCLUDE = re.compile(r"^\s*(?:-r|--requirement|-c|--constraint)\s*=?\s*(\S+)")


def requirement_files(path: Path = REQUIREMENTS) -> list[Path]:
    """``path`` and every file it includes with ``-r`` or ``-c``, depth first, each once."""
    seen: list[Path] = []

    def visit(current: Path) -> None:
        current = current.resolve()
        if current in seen:
            return
        seen.append(current)
        for line in current.read_text().splitlines():
            match = _INCLUDE.match(line)
            if match:
                visit(current.parent / match.group(1))

    visit(path)
    return seen


def requirements_hash(path: Path = REQUIREMENTS) -> str:
    """A hash of the requirement files' contents and of the options the layer is installed with."""
    digest = hashlib.sha256()
    digest.update(repr((PIP_OPTIONS, PROVIDED_BY_RUNTIME)).encode())
    for file in requirement_files(path):
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()


def build_layer(
    output: Path = DEFAULT_OUTPUT, requirements: Path = REQUIREMENTS, force: bool = False
) -> Path:
    """Build (or reuse) the layer in ``output``; return ``output``, whose ``python/`` Lambda mounts."""
    stamp = output.parent / f"{output.name}.sha256"
    wanted = requirements_hash(requirements)
    target = output / "python"
    if not force and target.is_dir() and stamp.is_file() and stamp.read_text().strip() == wanted:
        return output
    staging = output.parent / f"{output.name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        *PIP_OPTIONS,
        "--target",
        str(staging / "python"),
        "-r",
        str(requirements),
    ]
    subprocess.run(command, check=True, cwd=requirements.parent)  # noqa: S603
    _prune(staging / "python")
    stamp.unlink(missing_ok=True)
    shutil.rmtree(output, ignore_errors=True)
    staging.rename(output)
    stamp.write_text(wanted + "\n")
    return output


def _prune(site: Path) -> None:
    """Drop what the runtime provides, and bytecode caches (they only make the zip differ per build)."""
    for entry in site.iterdir():
        distribution = entry.name.split("-", 1)[0].lower().replace("_", "-")
        if distribution in PROVIDED_BY_RUNTIME or entry.name == "bin":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    for cache in list(site.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)


def main() -> None:
    print(build_layer(force="--force" in sys.argv[1:]))


if __name__ == "__main__":
    main()
