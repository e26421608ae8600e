"""Tests for SSRF protection of outbound URLs (mjrelay.core.netguard)."""

from __future__ import annotations

import ipaddress

import httpx
import pytest

from mjrelay.core.netguard import (
    GuardedTransport,
    UnsafeURLError,
    URLPolicy,
    check_outbound_url,
    default_resolver,
    is_public_address,
)

PUBLIC = "93.184.216.34"
MAPPED_PRIVATE = ipaddress.ip_address("::ffff:192.168.0.1")

FAKE_DNS: dict[str, list[str]] = {
    "public.example": [PUBLIC],
    "public6.example": ["2606:2800:220:1:248:1893:25c8:1946"],
    "loopback.example": ["127.0.0.1"],
    "mixed.example": [PUBLIC, "10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
    "mapped.example": ["::ffff:192.168.0.1"],
    "internal.corp": ["10.9.9.9"],
}


class FakeResolver:
    """Answers from FAKE_DNS and records every lookup; unknown names fail like NXDOMAIN."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in FAKE_DNS:
            raise OSError(f"Name or service not known: {host}")
        return FAKE_DNS[host]


async def refuse(url: str, policy: URLPolicy | None = None, purpose: str = "callback URL") -> str:
    with pytest.raises(UnsafeURLError) as info:
        await check_outbound_url(
            url, policy or URLPolicy(), resolver=FakeResolver(), purpose=purpose
        )
    message = str(info.value)
    assert message.startswith(purpose)
    return message


# --- is_public_address --------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "0.0.0.0",
        "0.1.2.3",
        "100.64.0.1",
        "100.127.255.254",
        "198.18.0.1",
        "198.19.255.255",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "192.0.0.8",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1",
        "2002:c0a8:101::1",
        "2001:0:4136:e378::1",
        "100::1",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        PUBLIC,
        "8.8.8.8",
        "1.1.1.1",
        "172.32.0.1",
        "100.128.0.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "2002:808:808::1",
        "64:ff9b::808:808",
    ],
)
def test_public_addresses(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


# --- check_outbound_url: refused --------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1/", "callback URL host 127.0.0.1 is a loopback address"),
        ("http://[::1]/", "callback URL host ::1 is a loopback address"),
        (
            "http://169.254.169.254/latest/meta-data",
            "callback URL host 169.254.169.254 is a link-local address (cloud metadata endpoint)",
        ),
        ("http://10.0.0.5/", "callback URL host 10.0.0.5 is a private address"),
        ("http://192.168.1.1/", "callback URL host 192.168.1.1 is a private address"),
        ("http://172.16.0.1", "callback URL host 172.16.0.1 is a private address"),
        ("http://0.0.0.0", "callback URL host 0.0.0.0 is an unspecified address"),
        (
            "http://[::ffff:127.0.0.1]/",
            "callback URL host ::ffff:127.0.0.1 is the IPv4-mapped form of 127.0.0.1, "
            "a loopback address",
        ),
        ("http://2130706433/", "callback URL host 2130706433 (= 127.0.0.1) is a loopback address"),
        ("http://0x7f.0.0.1/", "callback URL host 0x7f.0.0.1 (= 127.0.0.1) is a loopback address"),
        ("http://0x7f.1/", "callback URL host 0x7f.1 (= 127.0.0.1) is a loopback address"),
        ("http://0177.1/", "callback URL host 0177.1 (= 127.0.0.1) is a loopback address"),
        ("http://127.1:8080/", "callback URL host 127.1 (= 127.0.0.1) is a loopback address"),
        (
            "http://loopback.example/",
            "callback URL host loopback.example resolves to 127.0.0.1, a loopback address",
        ),
        (
            "http://mixed.example/",
            "callback URL host mixed.example resolves to 10.1.2.3, a private address",
        ),
        (
            "https://metadata.example/",
            "callback URL host metadata.example resolves to 169.254.169.254, "
            "a link-local address (cloud metadata endpoint)",
        ),
        (
            "http://mapped.example/",
            # str() of IPv4-mapped addresses differs between Python versions.
            f"callback URL host mapped.example resolves to {MAPPED_PRIVATE}, "
            "the IPv4-mapped form of 192.168.0.1, a private address",
        ),
        ("file:///etc/passwd", "callback URL scheme file not allowed (allowed: http, https)"),
        ("ftp://public.example/", "callback URL scheme ftp not allowed (allowed: http, https)"),
        (
            "gopher://public.example/",
            "callback URL scheme gopher not allowed (allowed: http, https)",
        ),
        (
            "http://user:pass@public.example/",
            "callback URL must not contain credentials (user:password@)",
        ),
        ("http://@public.example/", "callback URL must not contain credentials (user:password@)"),
        ("http:///path", "callback URL has no host"),
        ("http://public.example:0/", "callback URL port 0 is outside 1-65535"),
        ("http://public.example:65536/", "callback URL port 65536 is outside 1-65535"),
        ("http://nowhere.invalid/", "callback URL host nowhere.invalid could not be resolved"),
        (
            "http://public.example\\@127.0.0.1/",
            "callback URL contains whitespace, control or backslash characters",
        ),
        (
            "http://1.2.3.4.5/",
            "callback URL host 1.2.3.4.5 is not a valid address (malformed numeric address)",
        ),
        ("", "callback URL is empty"),
    ],
)
async def test_ssrf_table_is_refused(url: str, expected: str) -> None:
    assert await refuse(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://0177.0.0.1/",  # httpx itself rejects this spelling; either way it is refused
        "http://[fe80::1%25eth0]/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "http://100.64.0.1/",
        "http://198.18.0.1/",
        "http://224.0.0.1/",
        "http://public.example/\nHost: 127.0.0.1",
    ],
)
async def test_more_refusals(url: str) -> None:
    await refuse(url)


async def test_overlong_url_is_refused_before_resolving() -> None:
    resolver = FakeResolver()
    url = "http://public.example/" + "a" * 100
    with pytest.raises(UnsafeURLError, match=r"^image URL is 122 characters long, limit 100$"):
        await check_outbound_url(
            url, URLPolicy(max_url_length=100), resolver=resolver, purpose="image URL"
        )
    assert resolver.calls == []


async def test_localhost_through_default_resolver_is_refused() -> None:
    with pytest.raises(UnsafeURLError, match=r"^callback URL host localhost resolves to "):
        await check_outbound_url("http://localhost:8080/hook", purpose="callback URL")


async def test_default_resolver_returns_ip_strings() -> None:
    answers = await default_resolver("localhost", 80)
    assert answers
    assert all(not is_public_address(ipaddress.ip_address(a)) for a in answers)


async def test_resolver_exceptions_and_empty_answers_are_unresolvable() -> None:
    async def empty(host: str, port: int) -> list[str]:
        return []

    async def broken(host: str, port: int) -> list[str]:
        raise RuntimeError("resolver crashed")

    for resolver in (empty, broken):
        with pytest.raises(UnsafeURLError, match="could not be resolved"):
            await check_outbound_url("http://public.example/", resolver=resolver)


# --- check_outbound_url: allowed --------------------------------------------


async def test_public_hostname_is_allowed_and_resolved_ips_returned() -> None:
    resolver = FakeResolver()
    ips = await check_outbound_url("https://public.example/path?q=1#f", resolver=resolver)
    assert ips == [PUBLIC]
    assert resolver.calls == [("public.example", 443)]
    assert await check_outbound_url("http://public.example:8080/", resolver=resolver) == [PUBLIC]
    assert resolver.calls[-1] == ("public.example", 8080)


async def test_public_ip_literals_skip_dns() -> None:
    resolver = FakeResolver()
    assert await check_outbound_url(f"http://{PUBLIC}/", resolver=resolver) == [PUBLIC]
    assert await check_outbound_url("http://[2606:4700:4700::1111]/", resolver=resolver) == [
        "2606:4700:4700::1111"
    ]
    assert resolver.calls == []


async def test_allowlisted_ip_host() -> None:
    policy = URLPolicy(allow_hosts=frozenset({"127.0.0.1"}))
    assert await check_outbound_url("http://127.0.0.1:9000/hook", policy) == ["127.0.0.1"]
    # Allowlisting one address does not open its neighbours.
    assert "loopback" in await refuse("http://127.0.0.2/", policy)


async def test_allowlisted_cidr() -> None:
    policy = URLPolicy(allow_hosts=frozenset({"10.0.0.0/8"}))
    assert await check_outbound_url("http://10.20.30.40/", policy) == ["10.20.30.40"]
    ips = await check_outbound_url("http://internal.corp/", policy, resolver=FakeResolver())
    assert ips == ["10.9.9.9"]
    assert "private address" in await refuse("http://192.168.0.1/", policy)


async def test_allowlisted_hostname_is_case_insensitive_and_skips_address_check() -> None:
    policy = URLPolicy(allow_hosts=frozenset({"Loopback.Example"}))
    ips = await check_outbound_url("http://LOOPBACK.example/", policy, resolver=FakeResolver())
    assert ips == ["127.0.0.1"]


async def test_allowlist_does_not_bypass_scheme_or_credentials() -> None:
    policy = URLPolicy(allow_hosts=frozenset({"127.0.0.1"}))
    assert "scheme ftp" in await refuse("ftp://127.0.0.1/", policy)
    assert "credentials" in await refuse("http://a:b@127.0.0.1/", policy)


async def test_custom_schemes() -> None:
    policy = URLPolicy(allowed_schemes=frozenset({"https"}))
    assert "scheme http not allowed (allowed: https)" in await refuse(
        "http://public.example/", policy
    )


# --- GuardedTransport ---------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(str(request.url))
        if request.url.host == "public.example" and request.url.path == "/redirect":
            return httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})
        return httpx.Response(200, text="ok")


def guarded_client(recorder: Recorder, policy: URLPolicy | None = None) -> httpx.AsyncClient:
    transport = GuardedTransport(
        policy or URLPolicy(),
        resolver=FakeResolver(),
        inner=httpx.MockTransport(recorder),
        purpose="image URL",
    )
    return httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=True)


async def test_transport_blocks_loopback_before_inner_transport() -> None:
    recorder = Recorder()
    async with guarded_client(recorder) as client:
        with pytest.raises(UnsafeURLError, match=r"^image URL host 127\.0\.0\.1 is a loopback"):
            await client.get("http://127.0.0.1/")
        with pytest.raises(UnsafeURLError, match=r"resolves to 127\.0\.0\.1"):
            await client.get("http://loopback.example/")
    assert recorder.seen == []


async def test_transport_passes_public_requests_through() -> None:
    recorder = Recorder()
    async with guarded_client(recorder) as client:
        response = await client.get("http://public.example/image.png")
    assert response.status_code == 200
    assert response.text == "ok"
    assert recorder.seen == ["http://public.example/image.png"]


async def test_transport_stops_redirect_to_internal_address_at_second_hop() -> None:
    recorder = Recorder()
    async with guarded_client(recorder) as client:
        with pytest.raises(UnsafeURLError, match=r"^image URL host 127\.0\.0\.1 is a loopback"):
            await client.get("http://public.example/redirect")
    assert recorder.seen == ["http://public.example/redirect"]


async def test_transport_honours_policy_allowlist() -> None:
    recorder = Recorder()
    policy = URLPolicy(allow_hosts=frozenset({"127.0.0.1"}))
    async with guarded_client(recorder, policy) as client:
        response = await client.get("http://public.example/redirect")
    assert response.status_code == 200
    assert recorder.seen == ["http://public.example/redirect", "http://127.0.0.1/admin"]
