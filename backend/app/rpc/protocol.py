"""Wire format: each message is a 4-byte big-endian length, then a msgpack map.
Request {"id", "method": "Root.verb", "args": {...}}; reply {"id", "result"} or {"id", "error": {"code", "message"}}."""

from __future__ import annotations

import socket
import struct
from typing import Any

import msgpack

MAX_FRAME = 1 << 20
_LEN = struct.Struct(">I")


class ProtocolError(Exception):
    pass


def encode(message: dict[str, Any]) -> bytes:
    body: bytes = msgpack.packb(message, use_bin_type=True)
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"message of {len(body)} bytes is over the {MAX_FRAME}-byte limit")
    return _LEN.pack(len(body)) + body


def _read_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed the connection")
        buf += chunk
    return bytes(buf)


def read_frame(sock: socket.socket) -> dict[str, Any]:
    (n,) = _LEN.unpack(_read_exact(sock, 4))
    if n > MAX_FRAME:
        raise ProtocolError(f"frame of {n} bytes is over the {MAX_FRAME}-byte limit")
    try:
        msg = msgpack.unpackb(_read_exact(sock, n), raw=False)
    except (ValueError, msgpack.UnpackException) as e:
        raise ProtocolError(f"not msgpack: {e}") from e
    if not isinstance(msg, dict):
        raise ProtocolError("a message must be a map")
    return msg
