"""Platform sandboxes: in-memory WSGI emulators of the wire contracts in ``platform-contracts.md``.

Tests mount them in-process (``httpx.WSGITransport``); the local stack serves them on ports. The same
production client code talks to a sandbox or to the real platform; only base URLs and credentials
differ.
"""
