"""Deployed stages, and where the CDK app finds and stages its inputs."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = REPO_ROOT / "build"
CHALICE_SOURCE_DIR = BUILD_DIR / "chalice-src"
LAYER_DIR = BUILD_DIR / "layer"

# Each is also a stage in .chalice/config.json: the Chalice construct packages the app for the stage
# named by its scope, which is why a ClickTokStack's construct id is the stage name itself.
STAGES: tuple[str, ...] = ("dev", "staging", "prod")
DEFAULT_STAGE = "dev"


def check_stage(stage: str) -> str:
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: pass -c stage=<one of {', '.join(STAGES)}>")
    return stage


def stack_name(stage: str) -> str:
    return f"clicktok-{stage}"


def stage_chalice_source(destination: Path = CHALICE_SOURCE_DIR, source: Path = REPO_ROOT) -> Path:
    """Copy the app's source into ``destination`` with an empty requirements.txt.

    The functions get their dependencies from the shared layer, so Chalice's packager must see no
    requirements (it would otherwise download wheels into every function's zip).
    """
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copy2(source / "app.py", destination / "app.py")
    shutil.copytree(source / "chalicelib", destination / "chalicelib", ignore=ignore)
    (destination / ".chalice").mkdir()
    shutil.copy2(source / ".chalice" / "config.json", destination / ".chalice" / "config.json")
    (destination / "requirements.txt").write_text("")
    return destination
