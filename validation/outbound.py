"""Outbound HTTP for billing webhooks, behind an SSRF guard.

A webhook URL is typed in by an admin, so Loupe must not become a way to reach what only
Loupe can reach: cloud metadata, loopback services, the private network. `target_check`
resolves the host and refuses any non-public address unless settings allow it explicitly
(`WEBHOOK_ALLOWED_HOSTS`: host names, IPs or CIDRs; `WEBHOOK_ALLOW_PRIVATE_NETWORKS`: RFC 1918
and ULA ranges, never loopback, link-local or metadata). It runs when an endpoint is created
and again right before every delivery (DNS may have changed), and `post` connects to the
very address that was checked, so a second DNS answer cannot slip in between. Redirects are
never followed: a 3xx is an answer like any other non-2xx.
"""

import contextlib
import http
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from infra.errors import LoupeError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services. Most are link-local or otherwise non-public already; listed so
# that WEBHOOK_ALLOW_PRIVATE_NETWORKS never opens them (fd00:ec2::254 is a ULA address).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)

CONNECT_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 10.0
MAX_RESPONSE_BYTES = 64 * 1024


class OutboundRefused(LoupeError):
    code = "webhook_url_refused"


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def status_text(status: int) -> str:
    """What an attempt records of a receiver's error answer: its status with the standard
    phrase, never its body or reason line. Those are the receiver's words (a stack trace,
    billing's internals, another customer's data), and attempts are shown to every
    supervisor of the store on the deliveries pages."""
    try:
        return f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


@dataclass(frozen=True)
class Response:
    status_code: int | None
    latency_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _allowances() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    hosts: set[str] = set()
    networks = []
    for entry in settings.WEBHOOK_ALLOWED_HOSTS:
        entry = entry.strip().strip("[]").lower()
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry)
    return hosts, networks


# IPv6 addresses that carry an IPv4 address a packet ends up at: NAT64's well-known prefix
# (RFC 6052, the IPv4 address in the last 32 bits) and 6to4 (2002::/16, `sixtofour`). They
# are judged by the IPv4 address inside, so [2002:7f00:1::] is loopback, not "public".
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
# Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the site's translator.
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")


def address_refusal(address: IPAddress, *, host: str = "") -> str | None:
    """Why `address` (resolved from `host`) may not be contacted, or None if it may."""
    hosts, networks = _allowances()
    if host.lower() in hosts or any(address in network for network in networks):
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address_refusal(address.ipv4_mapped, host=host)
    return _refusal(address)


def _refusal(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv6Address):
        # A tunnel or translator address is as reachable as the IPv4 address it carries; an
        # allowance must name the IPv6 address itself (checked by the caller), not the IPv4.
        if address.teredo:
            return "a Teredo tunnel address"
        if address in NAT64_LOCAL_USE:
            return "a local-use NAT64 address"
        embedded = address.sixtofour or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in NAT64_WELL_KNOWN else None
        )
        if embedded is not None:
            kind = "6to4" if address.sixtofour else "NAT64"
            reason = _refusal(embedded)
            return f"a {kind} address of {embedded}, {reason}" if reason else None
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "not a unicast address"
    if address.is_private:
        return None if settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS else "a private-network address"
    if not address.is_global:
        return "not a public address"
    return None


def target_check(url: str) -> Target:
    """Parse, resolve and check `url`. Raises `OutboundRefused` (code `webhook_url_refused`)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused("Only http and https URLs are allowed.", field="url")
    if parts.username or parts.password:
        raise OutboundRefused("Credentials in the URL are not allowed; receivers verify the signature.", field="url")
    host = parts.hostname
    if not host:
        raise OutboundRefused("The URL has no host.", field="url")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused("The URL has an invalid port.", field="url") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundRefused(f"{host} does not resolve ({exc}).", field="url") from None
    addresses: list[str] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]
        address = ipaddress.ip_address(raw)
        # Every answer must pass: a name that resolves to a public and a private address is
        # the DNS-rebinding trick, not a reason to pick the public one.
        if reason := address_refusal(address, host=host):
            raise OutboundRefused(f"{host} resolves to {address}, {reason}.", field="url")
        if raw not in addresses:
            addresses.append(raw)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=host, port=port, path=path, addresses=tuple(addresses))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Sends Host for the URL's host but connects to an address checked beforehand."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Same over TLS: certificate and SNI are checked against the URL's host name."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    connect_timeout: float = CONNECT_TIMEOUT_S,
    total_timeout: float = TOTAL_TIMEOUT_S,
) -> Response:
    """POST `body` to `url` once. Never raises for network trouble: the outcome is in the
    Response (status code or None, latency, error text). Redirects are not followed."""
    started = time.monotonic()

    def elapsed_ms() -> int:
        return round((time.monotonic() - started) * 1000)

    try:
        target = target_check(url)
    except OutboundRefused as exc:
        return Response(status_code=None, latency_ms=elapsed_ms(), error=f"refused: {exc.detail}")

    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target.host, target.port, address=target.addresses[0], timeout=connect_timeout)
    # Socket timeouts bound each read, not the whole exchange; a receiver dripping one byte
    # at a time would hold the worker forever. The watchdog cuts the socket at the deadline.
    timed_out = threading.Event()

    def abort() -> None:
        timed_out.set()
        if connection.sock is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(total_timeout, abort)
    watchdog.daemon = True
    watchdog.start()
    try:
        connection.connect()
        connection.sock.settimeout(max(0.1, total_timeout - (time.monotonic() - started)))
        connection.request("POST", target.path, body=body, headers=dict(headers))
        answer = connection.getresponse()
        answer.read(MAX_RESPONSE_BYTES)  # read (bounded), never kept: see status_text
        status = answer.status
        error = ""
        if 300 <= status < 400:
            error = f"redirect to {answer.getheader('Location', '?')} not followed"
        elif not 200 <= status < 300:
            error = status_text(status)
        return Response(status_code=status, latency_ms=elapsed_ms(), error=error)
    except (OSError, http.client.HTTPException) as exc:
        if timed_out.is_set() or isinstance(exc, TimeoutError):
            error = f"timed out after {elapsed_ms()} ms"
        else:
            error = f"{type(exc).__name__}: {exc}"
        return Response(status_code=None, latency_ms=elapsed_ms(), error=error)
    finally:
        watchdog.cancel()
        connection.close()
