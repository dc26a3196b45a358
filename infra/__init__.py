"""ClickTok's AWS CDK app: ``infra/cdk_app.py`` (entry), ``infra/stacks`` and ``infra/synth.py``."""
