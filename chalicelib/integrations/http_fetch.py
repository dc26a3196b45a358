"""Fetching a URL someone else gave us, without letting it reach inside our network.

``fetch`` downloads one http(s) URL with a byte cap and a wall-clock deadline, following at most
``max_redirects`` redirects by hand. Before every request (the first and each redirect) the host
is resolved and *every* address it resolves to is checked: private, loopback, link-local (the
instance metadata service at 169.254.169.254), multicast, reserved and unspecified addresses are
refused, unless ``allow_loopback`` lets loopback through (the ``local`` and ``test`` stages, where
the sandboxes live). The request is then sent to the checked address itself (the URL's host goes
in the ``Host`` header and TLS's SNI, so certificates are still verified against the name), so a
second DNS answer cannot swap in another address between the check and the connection.

A refused or failed fetch raises ``FetchError`` with a short ``code`` and a message; nothing else
escapes. Tests reach sandboxes in-process with ``use_transport`` and fake DNS with ``use_resolver``.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

USER_AGENT = "ClickTok-ImageFetcher/1.0 (+https://clicktok.app)"
DEFAULT_TIMEOUT = 5.0
MAX_URL_LENGTH = 2048

Resolver = Callable[[str, int], list[str]]
HeadCheck = Callable[[bytes], str | None]


class FetchError(Exception):
    """``code``: bad_url | private_address | dns_failed | too_many_redirects | http_status |
    too_large | timeout | network | rejected."""

    def __init__(self, code: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status


@dataclass(frozen=True)
class Fetched:
    url: str
    data: bytes
    content_type: str | None
    redirects: int


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


_transport: httpx.BaseTransport | None = None
_resolver: Resolver = _system_resolver


def use_transport(transport: httpx.BaseTransport | None) -> None:
    """Send fetches through ``transport`` (tests reach the image sandbox in-process)."""
    global _transport
    _transport = transport


def use_resolver(resolver: Resolver | None) -> None:
    """Resolve host names with ``resolver`` (tests); None restores the system's."""
    global _resolver
    _resolver = resolver or _system_resolver


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return ip.is_global and not ip.is_multicast


def check_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable http(s) URL, or ``FetchError("bad_url")``."""
    if len(url) > MAX_URL_LENGTH:
        raise FetchError("bad_url", f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise FetchError("bad_url", f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError("bad_url", "only http and https URLs can be fetched")
    if parts.username is not None or parts.password is not None:
        raise FetchError("bad_url", "URLs with a user name or password are not fetched")
    host = parts.hostname
    if not host:
        raise FetchError("bad_url", "the URL has no host")
    return scheme, host, port or (443 if scheme == "https" else 80)


def resolve_checked(host: str, port: int, *, allow_loopback: bool) -> str:
    """The address to connect to, after checking every address ``host`` resolves to."""
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            addresses = _resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise FetchError("dns_failed", f"cannot resolve {host}: {exc}") from None
    if not addresses:
        raise FetchError("dns_failed", f"{host} resolves to no address")
    refused = [a for a in addresses if not address_allowed(a, allow_loopback=allow_loopback)]
    if refused:
        raise FetchError(
            "private_address",
            f"{host} resolves to a private, loopback or link-local address ({refused[0]}); refused",
        )
    return addresses[0]


def fetch(
    url: str,
    *,
    allow_loopback: bool,
    max_bytes: int,
    timeout: float = DEFAULT_TIMEOUT,
    max_redirects: int = 3,
    head_check: HeadCheck | None = None,
    accept: str = "image/jpeg,image/png,image/webp;q=0.9,*/*;q=0.1",
) -> Fetched:
    """GET ``url`` within ``timeout`` seconds in all; ``head_check(first bytes)`` may return a
    reason to stop early (``FetchError("rejected")``) once 16 bytes have arrived."""
    deadline = time.monotonic() + timeout
    current = url
    with httpx.Client(
        transport=_transport or httpx.HTTPTransport(retries=0),
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,  # a proxy from the environment would connect on our behalf, unchecked
    ) as client:
        for redirects in range(max_redirects + 1):
            scheme, host, port = check_url(current)
            address = resolve_checked(host, port, allow_loopback=allow_loopback)
            default_port = port == (443 if scheme == "https" else 80)
            headers = {
                "Host": host if default_port else f"{host}:{port}",
                "User-Agent": USER_AGENT,
                "Accept": accept,
            }
            extensions = {"sni_hostname": host} if scheme == "https" else {}
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError("timeout", f"no answer within {timeout:g} s")
            try:
                target = httpx.URL(current).copy_with(host=address)
                with client.stream(
                    "GET",
                    target,
                    headers=headers,
                    timeout=httpx.Timeout(remaining),
                    extensions=extensions,
                ) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        if not location:
                            raise FetchError(
                                "http_status",
                                "a redirect without a Location",
                                http_status=response.status_code,
                            )
                        current = urljoin(current, location)
                        continue
                    if response.status_code != 200:
                        raise FetchError(
                            "http_status",
                            f"HTTP {response.status_code} from {host}",
                            http_status=response.status_code,
                        )
                    data = _read_capped(response, max_bytes, deadline, timeout, head_check)
                    return Fetched(current, data, response.headers.get("content-type"), redirects)
            except httpx.TimeoutException:
                raise FetchError("timeout", f"no answer within {timeout:g} s") from None
            except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, ValueError) as exc:
                raise FetchError(
                    "network", f"cannot fetch from {host}: {type(exc).__name__}: {exc}"
                ) from None
    raise FetchError("too_many_redirects", f"more than {max_redirects} redirects")


def _read_capped(
    response: httpx.Response, max_bytes: int, deadline: float, timeout: float, head_check: HeadCheck | None
) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError("too_large", f"{int(declared)} bytes; the limit is {max_bytes}")
    buffer = bytearray()
    checked = head_check is None
    for chunk in response.iter_bytes(65_536):  # decoded: a gzip bomb is capped too
        buffer += chunk
        if len(buffer) > max_bytes:
            raise FetchError("too_large", f"more than {max_bytes} bytes; the limit is {max_bytes}")
        if not checked and len(buffer) >= 16:
            checked = True
            problem = head_check(bytes(buffer[:16])) if head_check else None
            if problem:
                raise FetchError("rejected", problem)
        if time.monotonic() > deadline:
            raise FetchError("timeout", f"the download took longer than {timeout:g} s")
    if not checked and head_check is not None:
        problem = head_check(bytes(buffer))
        if problem:
            raise FetchError("rejected", problem)
    return bytes(buffer)
