"""Callback signatures as a receiver verifies them."""

from __future__ import annotations

from mjrelay.core.signing import new_secret, sign, verify


def test_signature_round_trip_and_tampering() -> None:
    secret = new_secret()
    body = b'{"id":"1","status":"SUCCESS"}'
    header = sign(secret, 1_800_000_000, body)
    assert header.startswith("t=1800000000,v1=")
    assert verify(secret, header, body, now=1_800_000_010)
    assert not verify(secret, header, body + b" ", now=1_800_000_010)
    assert not verify(new_secret(), header, body, now=1_800_000_010)
    assert not verify(secret, header, body, now=1_800_000_000 + 301)  # replayed too late
    assert not verify(secret, "t=abc,v1=00", body, now=1_800_000_000)
    assert not verify(secret, "", body, now=1_800_000_000)
