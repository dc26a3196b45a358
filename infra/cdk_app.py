"""The CDK app: one ClickTok stage, chosen with ``-c stage=dev|staging|prod`` (default ``dev``).

``npx cdk deploy --app ".venv/bin/python infra/cdk_app.py" -c stage=prod`` (``make deploy``) runs
this file as a script: it builds the dependencies layer if its requirements changed, stages the
Chalice source, and synthesizes the stage's stack.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script, sys.path[0] is infra/
    sys.path.insert(0, str(REPO_ROOT))

import aws_cdk as cdk  # noqa: E402

from infra.stacks import ClickTokStack  # noqa: E402
from infra.stages import CHALICE_SOURCE_DIR, DEFAULT_STAGE, check_stage, stage_chalice_source  # noqa: E402
from layers.build import build_layer  # noqa: E402


def main() -> None:
    app = cdk.App()
    stage = check_stage(str(app.node.try_get_context("stage") or DEFAULT_STAGE))
    layer_dir = build_layer()
    source_dir = stage_chalice_source(CHALICE_SOURCE_DIR)
    shutil.rmtree(REPO_ROOT / "chalice.out", ignore_errors=True)
    ClickTokStack(app, stage, chalice_source_dir=source_dir, layer_dir=layer_dir)
    app.synth()


if __name__ == "__main__":
    main()
