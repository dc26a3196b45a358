"""Synthesize every stage's stack into ``cdk.out/`` offline: ``python -m infra.synth``.

Needs no AWS credentials and no Docker. Builds the dependencies layer (cached by its requirements'
hash), stages the Chalice source, removes the previous ``cdk.out/`` and ``chalice.out/``, and writes
``cdk.out/{stage}.template.json`` for each stage in ``infra.stages.STAGES``.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import aws_cdk as cdk

from infra.stacks import ClickTokStack
from infra.stages import CHALICE_SOURCE_DIR, REPO_ROOT, STAGES, stage_chalice_source
from layers.build import build_layer


def synth(outdir: Path = REPO_ROOT / "cdk.out") -> list[Path]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    layer_dir = build_layer()
    source_dir = stage_chalice_source(CHALICE_SOURCE_DIR)
    shutil.rmtree(outdir, ignore_errors=True)
    shutil.rmtree(REPO_ROOT / "chalice.out", ignore_errors=True)
    os.chdir(REPO_ROOT)  # the Chalice construct writes chalice.out/ into the working directory
    app = cdk.App(outdir=str(outdir))
    for stage in STAGES:
        ClickTokStack(app, stage, chalice_source_dir=source_dir, layer_dir=layer_dir)
    assembly = app.synth()
    return [Path(stack.template_full_path) for stack in assembly.stacks]


def main() -> None:
    started = time.monotonic()
    templates = synth()
    names = ", ".join(str(path.relative_to(REPO_ROOT)) for path in templates)
    print(f"synthesized {names} in {time.monotonic() - started:.1f}s")


if __name__ == "__main__":
    main()
