"""The CDK stacks of ClickTok."""

from infra.stacks.clicktok import ClickTokStack

__all__ = ["ClickTokStack"]
