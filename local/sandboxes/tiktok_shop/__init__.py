"""TikTok Shop sandbox: the Open API, the token host and the authorize page, plus ``/_sandbox/``."""

from local.sandboxes.tiktok_shop.app import TikTokShopSandbox, create_app
from local.sandboxes.tiktok_shop.transport import SandboxTransport

__all__ = ["SandboxTransport", "TikTokShopSandbox", "create_app"]
