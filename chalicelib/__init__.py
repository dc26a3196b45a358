"""ClickTok runtime code: everything the Lambda functions import besides ``app.py``."""

__version__ = "0.1.0"
