"""Which address a new database connection goes to, when the host's name lists several.

The read replicas sit behind a headless Service (the StatefulSet's governing Service), whose name
resolves to every ready replica. Connecting by name would not spread the load: glibc orders the
addresses of the client's own subnet by longest common prefix (RFC 6724 rule 9), so each pod would
open every connection to the same replica. A random pick per new connection spreads them as a
ClusterIP's per-connection balancing did; a replica that is not ready is not in the answer.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable, Sequence
from typing import Any

Resolve = Callable[..., Sequence[tuple[Any, ...]]]


def pick_address(
    host: str,
    port: int,
    resolve: Resolve = socket.getaddrinfo,
    choose: Callable[[list[str]], str] = random.choice,
) -> str:
    """One of `host`'s addresses at random; the name itself when it does not resolve, so the
    connection attempt reports the failure as it always did."""
    try:
        infos = resolve(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return host
    addresses = sorted({str(info[4][0]) for info in infos})
    return choose(addresses) if addresses else host
