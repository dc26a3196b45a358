"""The layer build: what it hashes, and that a matching build is reused without pip."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from layers import build

pytestmark = pytest.mark.xdist_group("infra")


def write_requirements(tmp_path: Path, pins: str) -> Path:
    (tmp_path / "requirements.txt").write_text(pins)
    layer = tmp_path / "layers"
    layer.mkdir(exist_ok=True)
    (layer / "requirements.txt").write_text("# layer\n-r ../requirements.txt\n")
    return layer / "requirements.txt"


def test_the_layer_installs_the_root_requirements_at_the_pinned_versions() -> None:
    files = build.requirement_files()
    assert files == [
        build.REQUIREMENTS.resolve(),
        (build.REPO_ROOT / "requirements.txt").resolve(),
        (build.REPO_ROOT / "constraints.txt").resolve(),
    ]


def test_hash_follows_included_files(tmp_path: Path) -> None:
    requirements = write_requirements(tmp_path, "httpx==0.28.1\n")
    first = build.requirements_hash(requirements)
    assert build.requirements_hash(requirements) == first
    write_requirements(tmp_path, "httpx==0.28.2\n")
    assert build.requirements_hash(requirements) != first


def test_a_matching_build_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requirements = write_requirements(tmp_path, "httpx==0.28.1\n")
    output = tmp_path / "build" / "layer"
    (output / "python").mkdir(parents=True)
    (output.parent / "layer.sha256").write_text(build.requirements_hash(requirements) + "\n")

    def no_pip(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip ran although the layer was up to date")

    monkeypatch.setattr(subprocess, "run", no_pip)
    assert build.build_layer(output, requirements) == output


def test_a_changed_requirement_rebuilds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requirements = write_requirements(tmp_path, "httpx==0.28.1\n")
    output = tmp_path / "build" / "layer"
    (output / "python").mkdir(parents=True)
    (output.parent / "layer.sha256").write_text("stale\n")
    commands: list[list[str]] = []

    def fake_pip(command: list[str], **kwargs: object) -> None:
        commands.append(command)
        target = Path(command[command.index("--target") + 1])
        for name in ("httpx", "botocore", "boto3-1.0.dist-info", "s3transfer"):
            (target / name).mkdir(parents=True)

    monkeypatch.setattr(subprocess, "run", fake_pip)
    assert build.build_layer(output, requirements) == output
    (command,) = commands
    assert command[command.index("--platform") + 1] == "manylinux2014_x86_64"
    assert command[command.index("--python-version") + 1] == "3.11"
    assert "--only-binary=:all:" in command
    assert sorted(path.name for path in (output / "python").iterdir()) == ["httpx"]
    assert (output.parent / "layer.sha256").read_text().strip() == build.requirements_hash(requirements)
