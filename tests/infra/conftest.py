"""One synthesis of the dev and prod stacks per test session, with a stand-in for the layer.

The real layer (``layers/build.py``, pip downloads) is built by ``make synth``; here the layer asset
is a directory holding a marker file, and the Chalice source is staged into a temporary directory,
so the tests stay offline and leave ``build/``, ``cdk.out/`` and ``chalice.out/`` alone.
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.stacks import ClickTokStack
from infra.stages import stage_chalice_source


@dataclass(frozen=True)
class Synthesized:
    stacks: dict[str, ClickTokStack]
    templates: dict[str, Template]
    layer_dir: Path
    outdir: Path

    def json(self, stage: str = "dev") -> dict:
        return self.templates[stage].to_json()


def stand_in_layer(directory: Path) -> Path:
    (directory / "python").mkdir(parents=True)
    (directory / "python" / "LAYER_STAND_IN").write_text("tests use this instead of layers/build.py\n")
    return directory


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    work = tmp_path_factory.mktemp("infra")
    layer_dir = stand_in_layer(work / "layer")
    source_dir = stage_chalice_source(work / "chalice-src")
    # Packaging imports the module named app; import the repository's own first so this process keeps
    # one app object (blueprints remember the last app they were registered on).
    importlib.import_module("app")
    app = cdk.App(outdir=str(work / "cdk.out"))
    with contextlib.chdir(work):  # the Chalice construct writes chalice.out/ into the working directory
        stacks = {
            stage: ClickTokStack(app, stage, chalice_source_dir=source_dir, layer_dir=layer_dir)
            for stage in ("dev", "prod")
        }
    templates = {stage: Template.from_stack(stack) for stage, stack in stacks.items()}
    return Synthesized(stacks=stacks, templates=templates, layer_dir=layer_dir, outdir=work / "cdk.out")
