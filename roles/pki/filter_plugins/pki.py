"""Filters of the pki role: name constraints checked with ipaddress.

Ansible's own ip filters need netaddr, which the control node does not
carry; the standard library is enough for what the role asks.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def pki_host_network(address: str) -> str:
    """The one-address network of an IP: 127.0.0.1 -> 127.0.0.1/32."""
    ip = ipaddress.ip_address(address)
    return str(ipaddress.ip_network(f"{ip}/{ip.max_prefixlen}"))


def pki_ip_networks(values: Iterable[str]) -> list[str]:
    """Networks as written in name constraints: an address gets /32 or
    /128, a network is normalized; anything else raises at once."""
    networks = []
    for value in values:
        if "/" in value:
            networks.append(str(ipaddress.ip_network(value, strict=True)))
        else:
            networks.append(pki_host_network(value))
    return list(dict.fromkeys(networks))


def pki_dns_subtrees(names: Iterable[str]) -> list[str]:
    """The fewest DNS subtrees that cover the names: a name below another
    one (calls.parley.lab below parley.lab) adds nothing."""
    trees = list(dict.fromkeys(n.lower().lstrip(".") for n in names))
    return [
        tree
        for tree in trees
        if not any(
            other != tree and tree.endswith("." + other) for other in trees
        )
    ]


def pki_ip_subtrees(values: Iterable[str]) -> list[str]:
    """The fewest networks that cover the values (see pki_ip_networks)."""
    nets = [ipaddress.ip_network(n) for n in pki_ip_networks(values)]
    return [
        str(net)
        for net in nets
        if not any(
            other != net
            and other.version == net.version
            and net.subnet_of(other)  # type: ignore[arg-type]
            for other in nets
        )
    ]


def pki_dns_outside(
    names: Iterable[str], permitted: Iterable[str]
) -> list[str]:
    """DNS names that no permitted subtree covers (RFC 5280: a subtree
    covers the name itself and every name below it)."""
    subtrees = [p.lower().lstrip(".") for p in permitted]
    outside = []
    for name in names:
        lowered = name.lower().removeprefix("*.")
        if not any(
            lowered == tree or lowered.endswith("." + tree)
            for tree in subtrees
        ):
            outside.append(name)
    return outside


def pki_ip_outside(
    addresses: Iterable[str], permitted: Iterable[str]
) -> list[str]:
    """IP addresses that no permitted network contains."""
    networks: list[IpNetwork] = [
        ipaddress.ip_network(p, strict=False) for p in permitted
    ]
    outside = []
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if not any(
            ip.version == net.version and ip in net for net in networks
        ):
            outside.append(address)
    return outside


def pki_dns_only(values: Iterable[str]) -> list[str]:
    """The entries that are not IP addresses."""
    return [value for value in values if not _is_ip(value)]


def pki_report_rows(
    cas: Iterable[dict[str, Any]], leaves: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Rows of the certificate report from x509_certificate_info results:
    the root and the intermediate CA, then each host's leaf (a host whose
    read was skipped has none)."""
    rows = []
    for what, info in zip(("root CA", "intermediate CA"), cas, strict=False):
        rows.append(
            {
                "what": what,
                "serial": format(int(info["serial_number"]), "X"),
                "not_after": info["not_after"],
                "names": info["subject"].get("commonName", ""),
            }
        )
    for host, info in sorted(leaves.items()):
        if "not_after" not in info:
            continue
        rows.append(
            {
                "what": host,
                "serial": format(int(info["serial_number"]), "X"),
                "not_after": info["not_after"],
                "names": ",".join(info["subject_alt_name"] or []),
            }
        )
    return pki_days_left(rows)


def pki_days_left(
    rows: Iterable[dict[str, Any]], now: datetime.datetime | None = None
) -> list[dict[str, Any]]:
    """Each row (not_after as ASN.1 time, 20260102030405Z) with the whole
    days left until it expires added as `days`."""
    now = now or datetime.datetime.now(datetime.UTC)
    result = []
    for row in rows:
        not_after = datetime.datetime.strptime(
            row["not_after"], "%Y%m%d%H%M%SZ"
        ).replace(tzinfo=datetime.UTC)
        result.append(dict(row, days=(not_after - now).days))
    return result


def pki_table(rows: Iterable[dict[str, Any]]) -> list[str]:
    """A fixed-width table of certificate rows, one line each."""
    shape = "%-16s %5s  %-40s  %s"
    lines = [shape % ("certificate", "days", "serial", "names")]
    for row in rows:
        lines.append(
            shape
            % (row["what"], row["days"], row["serial"], row["names"])
        )
    return lines


class FilterModule:
    """Filters of the pki role."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "pki_ip_networks": pki_ip_networks,
            "pki_dns_subtrees": pki_dns_subtrees,
            "pki_ip_subtrees": pki_ip_subtrees,
            "pki_dns_outside": pki_dns_outside,
            "pki_ip_outside": pki_ip_outside,
            "pki_dns_only": pki_dns_only,
            "pki_days_left": pki_days_left,
            "pki_report_rows": pki_report_rows,
            "pki_table": pki_table,
        }
