"""The DH group the edge ships is ffdhe2048 of RFC 7919, bit for bit."""

from __future__ import annotations

import base64
import re
from decimal import Decimal, getcontext
from pathlib import Path

PEM = Path(__file__).resolve().parents[2] / "roles/nginx/files/ffdhe2048.pem"


def euler_number(bits: int) -> Decimal:
    """e to well over `bits` binary digits, from its series."""
    getcontext().prec = bits // 3 + 50
    total = term = Decimal(1)
    n = 1
    while term > Decimal(10) ** -(bits // 3 + 40):
        term /= n
        total += term
        n += 1
    return total


def rfc7919_ffdhe2048_prime() -> int:
    """p = 2^2048 - 2^1984 + (floor(2^1918 * e) + 560316) * 2^64 - 1."""
    e = euler_number(2048)
    return (
        2**2048 - 2**1984
        + (int(Decimal(2**1918) * e) + 560316) * 2**64 - 1
    )


def der_integers(der: bytes) -> list[int]:
    """The INTEGERs of a DER SEQUENCE of INTEGERs (DHParameter)."""
    def length(at: int) -> tuple[int, int]:
        first = der[at]
        if first < 0x80:
            return first, at + 1
        count = first & 0x7F
        return int.from_bytes(der[at + 1:at + 1 + count]), at + 1 + count

    assert der[0] == 0x30
    _, at = length(1)
    values = []
    while at < len(der):
        assert der[at] == 0x02
        size, start = length(at + 1)
        values.append(int.from_bytes(der[start:start + size]))
        at = start + size
    return values


def test_shipped_group_is_rfc7919_ffdhe2048() -> None:
    text = PEM.read_text()
    body = re.sub(r"-----[A-Z ]+-----|\s", "", text)

    prime, generator = der_integers(base64.b64decode(body))

    assert "BEGIN DH PARAMETERS" in text
    assert prime == rfc7919_ffdhe2048_prime()
    assert prime.bit_length() == 2048
    assert generator == 2
