"""In-process transport to the sandbox that turns its timeout fault into a real httpx timeout.

Over real HTTP the sandbox stalls a timeout fault for ``timeout_fault_seconds`` so the client's own
read timeout fires; in-process there is no socket to time out, so the sandbox marks the answer with
``X-Sandbox-Fault: timeout`` and this transport raises ``httpx.ReadTimeout`` instead of returning it.
"""

from __future__ import annotations

import httpx

from local.sandboxes.tiktok_shop.app import FAULT_HEADER


class SandboxTransport(httpx.WSGITransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if response.headers.get(FAULT_HEADER) == "timeout":
            response.close()
            raise httpx.ReadTimeout("sandbox timeout fault", request=request)
        return response
