"""TikTok Shop Open API (202309+): request signing, typed errors and an httpx client.

The wire contract is ``platform-contracts.md`` §1; the sandbox in ``local/sandboxes/tiktok_shop``
implements the same contract, so this client talks to either by base URL alone.
"""
