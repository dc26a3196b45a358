"""Product-image sandbox: deterministic studio shots of products, plus broken cases."""

from local.sandboxes.images.app import ImagesSandbox, create_app

__all__ = ["ImagesSandbox", "create_app"]
