"""SSRF protection for every URL the relay fetches or calls back.

Clients hand us URLs (``notifyHook`` callbacks, ``link`` image fetches).  If we
requested them blindly, a client could make the relay talk to its own admin
ports, the cloud metadata service (169.254.169.254) or anything else on the
internal network and, through callbacks or error messages, read the answers.

:func:`check_outbound_url` therefore parses the URL the same way httpx will
(``httpx.URL``), normalises the host the way the C resolver would (so
``2130706433`` and ``0x7f.1`` are recognised as 127.0.0.1), resolves it and
refuses unless *every* address is public or explicitly allowlisted by the
operator.  :class:`GuardedTransport` applies the same check to every request an
``httpx.AsyncClient`` sends, including each redirect hop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote

import httpx

__all__ = [
    "GuardedTransport",
    "Resolver",
    "URLPolicy",
    "UnsafeURLError",
    "check_outbound_url",
    "default_resolver",
    "is_public_address",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port) -> IP address strings``; injectable so tests need no DNS."""


class UnsafeURLError(ValueError):
    """An outbound URL was refused; the message says which rule and why."""


# --------------------------------------------------------------------------
# Address classification
# --------------------------------------------------------------------------

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# Ordered: the first matching range names the reason.  Listed explicitly rather
# than relying only on ``ipaddress`` flags, whose exact coverage has changed
# between Python patch releases.
_V4_BLOCKED: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("0.0.0.0/32"), "an unspecified address"),
    (_V4("0.0.0.0/8"), "a 'this network' address"),
    (_V4("127.0.0.0/8"), "a loopback address"),
    (_V4("169.254.169.254/32"), "a link-local address (cloud metadata endpoint)"),
    (_V4("169.254.0.0/16"), "a link-local address"),
    (_V4("10.0.0.0/8"), "a private address"),
    (_V4("172.16.0.0/12"), "a private address"),
    (_V4("192.168.0.0/16"), "a private address"),
    (_V4("100.64.0.0/10"), "a shared (CGNAT) address"),
    (_V4("198.18.0.0/15"), "a benchmarking address"),
    (_V4("192.0.2.0/24"), "a documentation address"),
    (_V4("198.51.100.0/24"), "a documentation address"),
    (_V4("203.0.113.0/24"), "a documentation address"),
    (_V4("192.0.0.0/24"), "an IETF protocol-assignment address"),
    (_V4("192.88.99.0/24"), "a reserved (6to4 relay anycast) address"),
    (_V4("224.0.0.0/4"), "a multicast address"),
    (_V4("255.255.255.255/32"), "a broadcast address"),
    (_V4("240.0.0.0/4"), "a reserved address"),
)

_V6_BLOCKED: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), "an unspecified address"),
    (_V6("::1/128"), "a loopback address"),
    (_V6("64:ff9b:1::/48"), "a local-use NAT64 address"),
    (_V6("100::/64"), "a discard-only address"),
    (_V6("2001::/32"), "a Teredo tunnelling address"),
    (_V6("2001:db8::/32"), "a documentation address"),
    (_V6("3fff::/20"), "a documentation address"),
    (_V6("2001::/23"), "an IETF protocol-assignment address"),
    (_V6("fc00::/7"), "a private (unique local) address"),
    (_V6("fe80::/10"), "a link-local address"),
    (_V6("fec0::/10"), "a site-local address"),
    (_V6("ff00::/8"), "a multicast address"),
)

_MAPPED = _V6("::ffff:0:0/96")
_TRANSLATED = _V6("::ffff:0:0:0/96")  # RFC 2765 "IPv4-translated"
_COMPAT = _V6("::/96")  # deprecated "IPv4-compatible"
_NAT64 = _V6("64:ff9b::/96")
_SIX_TO_FOUR = _V6("2002::/16")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """Return ``(form, ipv4)`` if ``ip`` is an IPv6 wrapper around an IPv4 address.

    Any of these can end up delivering packets to the embedded IPv4 address
    (dual-stack sockets, NAT64 gateways, 6to4 relays), so they must be judged
    by the address they wrap: ``::ffff:127.0.0.1`` *is* loopback.
    """
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _MAPPED:
        return "IPv4-mapped", low32
    if ip in _TRANSLATED:
        return "IPv4-translated", low32
    if ip in _NAT64:
        return "NAT64", low32
    if ip in _COMPAT and int(ip) > 1:
        return "IPv4-compatible", low32
    if ip in _SIX_TO_FOUR and ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    return None


def _classify(ip: IPAddress) -> str | None:
    """Why ``ip`` is not public (a phrase like "a loopback address"), or None."""
    if isinstance(ip, ipaddress.IPv6Address):
        wrapped = _embedded_ipv4(ip)
        if wrapped is not None:
            form, v4 = wrapped
            inner = _classify(v4)
            return None if inner is None else f"the {form} form of {v4}, {inner}"
        for net6, reason in _V6_BLOCKED:
            if ip in net6:
                return reason
    else:
        for net4, reason in _V4_BLOCKED:
            if ip in net4:
                return reason
    # Safety net for anything the tables miss (e.g. unallocated IPv6 space).
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_reserved:
        return "a reserved address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for globally routable unicast addresses.

    False for loopback, private, link-local (including cloud metadata),
    multicast, reserved, unspecified, CGNAT, benchmarking and documentation
    ranges, and for IPv4-mapped/compatible/translated, NAT64 and 6to4 IPv6
    spellings of any of those.
    """
    return _classify(ip) is None


# --------------------------------------------------------------------------
# Host parsing
# --------------------------------------------------------------------------

_HEX = frozenset(string.hexdigits)
_OCT = frozenset(string.octdigits)


def _is_number_label(label: str) -> bool:
    if label.isascii() and label.isdigit():
        return True
    return label[:2].lower() == "0x" and all(c in _HEX for c in label[2:])


def _parse_number_label(label: str) -> int | None:
    if label[:2].lower() == "0x":
        digits = label[2:]
        return int(digits, 16) if digits else 0
    if len(label) > 1 and label[0] == "0":
        return int(label[1:], 8) if all(c in _OCT for c in label[1:]) else None
    return int(label) if label.isascii() and label.isdigit() else None


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """Interpret ``host`` the way ``inet_aton`` (and WHATWG URL parsing) would.

    Returns None for an ordinary hostname.  Raises :class:`ValueError` when the
    host ends in a numeric label but is not a valid address: such hosts mean
    nothing legitimate and different resolvers treat them differently, which
    is exactly the ambiguity an attacker wants.
    """
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    if not labels or not _is_number_label(labels[-1]):
        return None
    if len(labels) > 4 or any(label == "" for label in labels):
        raise ValueError("malformed numeric address")
    parts: list[int] = []
    for label in labels:
        value = _parse_number_label(label)
        if value is None:
            raise ValueError("malformed numeric address")
        parts.append(value)
    *head, last = parts
    if any(p > 255 for p in head) or last >= 256 ** (5 - len(parts)):
        raise ValueError("numeric address out of range")
    number = last
    for i, p in enumerate(head):
        number += p << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _host_ip(host: str) -> IPAddress | None:
    """The IP a URL host denotes literally, or None if it needs DNS."""
    if ":" in host:
        return ipaddress.IPv6Address(unquote(host))
    return _legacy_ipv4(host)


# --------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class URLPolicy:
    """What outbound URLs may look like.

    ``allow_hosts`` is the operator's escape hatch for legitimate internal
    targets (e.g. a callback receiver on the same private network): exact
    hostnames or IP addresses (case-insensitive) and CIDR networks such as
    ``"10.0.0.0/8"``.  An allowlisted hostname skips the address check
    entirely; an allowlisted address or network permits just those addresses.
    Hostnames are compared in their ASCII (punycode) form.
    """

    allowed_schemes: frozenset[str] = frozenset({"http", "https"})
    allow_hosts: frozenset[str] = frozenset()
    max_url_length: int = 2048


@dataclass(frozen=True)
class _Allowlist:
    hostnames: frozenset[str]
    networks: tuple[IPNetwork, ...]

    def allows_ip(self, ip: IPAddress) -> bool:
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, ipaddress.IPv6Address):
            if ip.scope_id:
                candidates.append(ipaddress.IPv6Address(str(ip).split("%", 1)[0]))
            wrapped = _embedded_ipv4(ip)
            if wrapped is not None:
                candidates.append(wrapped[1])
        return any(
            c.version == net.version and c in net for c in candidates for net in self.networks
        )


@lru_cache(maxsize=64)
def _compile_allowlist(entries: frozenset[str]) -> _Allowlist:
    hostnames: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        hostnames.add(entry.rstrip("."))
    return _Allowlist(frozenset(hostnames), tuple(networks))


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


async def default_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver, IPv4 and IPv6 both.

    Uses the same ``getaddrinfo`` the HTTP client will use, so hosts-file
    entries such as ``localhost`` are seen exactly as the connection would
    see them.
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(
        host, port, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


def _authority(url: str) -> str:
    rest = url.split("://", 1)[1] if "://" in url else ""
    for sep in "/?#":
        rest = rest.split(sep, 1)[0]
    return rest


async def check_outbound_url(
    url: str,
    policy: URLPolicy = URLPolicy(),
    *,
    resolver: Resolver = default_resolver,
    purpose: str = "URL",
) -> list[str]:
    """Refuse ``url`` unless it is safe to request; return the IPs it resolves to.

    Rules: scheme in ``policy.allowed_schemes``; no credentials in the URL; a
    host is present; port in 1..65535; length within ``policy.max_url_length``;
    and every resolved address public or allowlisted.  Numeric hosts in any
    spelling (``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``) are judged as
    the address they denote.  The returned addresses let a caller pin the
    connection to what was checked.  Raises :class:`UnsafeURLError`, whose
    message starts with ``purpose`` (e.g. "callback URL").
    """
    if not isinstance(url, str) or not url:
        raise UnsafeURLError(f"{purpose} is empty")
    if len(url) > policy.max_url_length:
        raise UnsafeURLError(
            f"{purpose} is {len(url)} characters long, limit {policy.max_url_length}"
        )
    # Whitespace, control characters and backslashes are where URL parsers
    # disagree ("http://a\\@127.0.0.1/"); no legitimate URL needs them raw.
    if any(ord(c) < 0x21 or c in "\x7f\\" for c in url):
        raise UnsafeURLError(f"{purpose} contains whitespace, control or backslash characters")
    try:
        parsed = httpx.URL(url)
        port = parsed.port
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise UnsafeURLError(f"{purpose} is not a valid URL ({exc})") from None

    scheme = parsed.scheme.lower()
    allowed = {s.lower() for s in policy.allowed_schemes}
    if scheme not in allowed:
        shown = scheme or "(none)"
        raise UnsafeURLError(
            f"{purpose} scheme {shown} not allowed (allowed: {', '.join(sorted(allowed))})"
        )
    if parsed.userinfo or "@" in _authority(url):
        raise UnsafeURLError(f"{purpose} must not contain credentials (user:password@)")
    try:
        host = parsed.raw_host.decode("ascii").lower()
    except UnicodeDecodeError:
        raise UnsafeURLError(f"{purpose} host is not valid") from None
    if not host:
        raise UnsafeURLError(f"{purpose} has no host")
    if port is None:
        port = _DEFAULT_PORTS.get(scheme)
        if port is None:
            raise UnsafeURLError(f"{purpose} has no port and scheme {scheme} has no default")
    if not 1 <= port <= 65535:
        raise UnsafeURLError(f"{purpose} port {port} is outside 1-65535")

    allowlist = _compile_allowlist(frozenset(policy.allow_hosts))
    host_allowlisted = host.rstrip(".") in allowlist.hostnames

    try:
        literal = _host_ip(host)
    except ValueError as exc:
        raise UnsafeURLError(f"{purpose} host {host} is not a valid address ({exc})") from None

    addresses: list[IPAddress]
    if literal is not None:
        addresses = [literal]
    else:
        try:
            answers = await resolver(host, port)
        except Exception:
            raise UnsafeURLError(f"{purpose} host {host} could not be resolved") from None
        addresses = []
        for answer in answers:
            try:
                ip = ipaddress.ip_address(answer)
            except ValueError:
                raise UnsafeURLError(
                    f"{purpose} host {host} resolved to an unparsable address {answer!r}"
                ) from None
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise UnsafeURLError(f"{purpose} host {host} could not be resolved")

    if not host_allowlisted:
        for ip in addresses:
            reason = _classify(ip)
            if reason is None or allowlist.allows_ip(ip):
                continue
            if literal is not None:
                numeric = isinstance(ip, ipaddress.IPv4Address) and str(ip) != host
                shown = f"{host} (= {ip})" if numeric else host
                raise UnsafeURLError(f"{purpose} host {shown} is {reason}")
            raise UnsafeURLError(f"{purpose} host {host} resolves to {ip}, {reason}")
    return [str(ip) for ip in addresses]


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that runs :func:`check_outbound_url` before every request.

    httpx follows redirects by sending a fresh request through the transport,
    so each hop is checked: a public URL that redirects to
    ``http://127.0.0.1/`` is stopped at the second hop, before connecting.

    Remaining gap, stated plainly: the check resolves the host, then the inner
    transport resolves it *again* when it connects.  A hostile DNS server with
    a zero TTL can answer with a public address for the check and a private
    one for the connection (DNS rebinding).  This transport narrows that
    window to milliseconds but does not close it; closing it needs the
    connection pinned to the checked address (e.g. a custom httpcore network
    backend, or connecting to the IP returned by ``check_outbound_url``) or
    an egress firewall/proxy that enforces the same policy.

    Also note that ``httpx.AsyncClient(trust_env=True)`` (the default) mounts
    its own proxy transports for ``HTTP(S)_PROXY`` environment variables,
    which bypass this one; build guarded clients with ``trust_env=False``
    unless the proxy itself enforces egress rules.
    """

    def __init__(
        self,
        policy: URLPolicy = URLPolicy(),
        *,
        resolver: Resolver = default_resolver,
        inner: httpx.AsyncBaseTransport | None = None,
        purpose: str = "URL",
    ) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = inner if inner is not None else httpx.AsyncHTTPTransport()
        self._purpose = purpose

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await check_outbound_url(
            str(request.url), self._policy, resolver=self._resolver, purpose=self._purpose
        )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()
