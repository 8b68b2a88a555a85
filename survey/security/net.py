"""The client address used for per-address limits (sign-in and kiosk enrolment throttling).

``X-Forwarded-For`` is believed only when the connection comes from a proxy listed in
``HAILONG_TRUSTED_PROXIES`` (addresses or networks, e.g. ``10.0.0.5,192.168.1.0/24``).  Then the
address is the right-most entry of the header that is not itself a trusted proxy (entries further
left were written by the client and prove nothing).  From anyone else the header is ignored, so a
client cannot escape its limit, or lock somebody else out, by sending a made-up header.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from litestar.connection import ASGIConnection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def parse_trusted_proxies(raw: str) -> tuple[Network, ...]:
    """``"10.0.0.5, 192.168.1.0/24"`` -> networks; a ValueError names the bad entry."""
    nets = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"HAILONG_TRUSTED_PROXIES: {part!r} is not an IP address or network") from None
    return tuple(nets)


def _is_trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(connection: ASGIConnection, trusted_proxies: str) -> str | None:
    """The address of the client behind any trusted proxies (the TCP peer when none is configured)."""
    peer = connection.client.host if connection.client else None
    proxies = parse_trusted_proxies(trusted_proxies)
    if not peer or not proxies or not _is_trusted(peer, proxies):
        return peer
    forwarded = ",".join(connection.headers.getall("x-forwarded-for", []))
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage from beyond the proxy: count it against the proxy's own entry
    return peer
