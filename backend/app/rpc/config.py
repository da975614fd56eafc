"""rpc.json, as Stagecraft renders it (components/app/rpcConfig.ts), read and checked."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Literal

from app.config import ConfigError

RPC_ENV = "STAGECRAFT_RPC"
Balancing = Literal["round-robin", "least-conn", "consistent-hash"]


@dataclass(frozen=True)
class Callee:
    service: str
    prefix: str
    balancing: Balancing
    timeout_ms: int
    deadline_ms: int
    per_second: float
    burst: int
    retries: int
    eject_seconds: float


@dataclass(frozen=True)
class Registration:
    prefix: str
    port: int
    lease_ttl_s: int
    keepalive_s: int


@dataclass(frozen=True)
class EtcdAuth:
    user: str
    password_env: str


@dataclass(frozen=True)
class RpcConfig:
    service: str
    endpoints: tuple[str, ...]
    auth: EtcdAuth | None
    registration: Registration | None
    callees: dict[str, Callee]


def _req(obj: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise ConfigError(f"{where}.{key} is missing")
    v = obj[key]
    if isinstance(v, bool) or not isinstance(v, kind):
        raise ConfigError(f"{where}.{key} has the wrong type: {v!r}")
    if isinstance(v, int) and v < 0:
        raise ConfigError(f"{where}.{key} must not be negative: {v}")
    return v


def parse_rpc(raw: Any, src: str = "rpc.json") -> RpcConfig:
    etcd = _req(raw, "etcd", dict, src)
    endpoints = _req(etcd, "endpoints", list, f"{src}.etcd")
    if not endpoints or not all(isinstance(e, str) and e.startswith(("http://", "https://")) for e in endpoints):
        raise ConfigError(f"{src}.etcd.endpoints must be a non-empty list of http(s) URLs, got {endpoints!r}")
    auth_raw = etcd.get("auth")
    auth = None
    if auth_raw is not None:
        auth = EtcdAuth(_req(auth_raw, "user", str, f"{src}.etcd.auth"), _req(auth_raw, "passwordEnv", str, f"{src}.etcd.auth"))
    reg_raw = raw.get("registration")
    registration = None
    if reg_raw is not None:
        w = f"{src}.registration"
        registration = Registration(
            prefix=_req(reg_raw, "prefix", str, w),
            port=_req(reg_raw, "port", int, w),
            lease_ttl_s=_req(reg_raw, "leaseTtlSeconds", int, w),
            keepalive_s=_req(reg_raw, "keepAliveSeconds", int, w),
        )
        if not registration.prefix.endswith("/"):
            raise ConfigError(f"{w}.prefix must end with '/', got {registration.prefix!r}")
        if not 1 <= registration.keepalive_s < registration.lease_ttl_s:
            raise ConfigError(f"{w}.keepAliveSeconds must be at least 1 and below leaseTtlSeconds")
    callees: dict[str, Callee] = {}
    for i, c in enumerate(_req(raw, "callees", list, src)):
        w = f"{src}.callees[{i}]"
        rate = _req(c, "rateLimit", dict, w)
        fo = _req(c, "failover", dict, w)
        balancing = _req(c, "balancing", str, w)
        if balancing not in ("round-robin", "least-conn", "consistent-hash"):
            raise ConfigError(f"{w}.balancing must be round-robin, least-conn or consistent-hash, got {balancing!r}")
        callee = Callee(
            service=_req(c, "service", str, w),
            prefix=_req(c, "prefix", str, w),
            balancing=balancing,
            timeout_ms=_req(c, "timeoutMs", int, w),
            deadline_ms=_req(c, "deadlineMs", int, w),
            per_second=float(_req(rate, "perSecond", int, f"{w}.rateLimit")),
            burst=_req(rate, "burst", int, f"{w}.rateLimit"),
            retries=_req(fo, "retries", int, f"{w}.failover"),
            eject_seconds=float(_req(fo, "ejectSeconds", int, f"{w}.failover")),
        )
        if callee.timeout_ms < 1 or callee.deadline_ms < callee.timeout_ms:
            raise ConfigError(f"{w}: timeoutMs must be at least 1 and deadlineMs at least timeoutMs")
        callees[callee.service] = callee
    return RpcConfig(_req(raw, "service", str, src), tuple(endpoints), auth, registration, callees)


def load_rpc(path: str | None = None) -> RpcConfig:
    path = path or os.environ.get(RPC_ENV)
    if not path:
        raise ConfigError(f"{RPC_ENV} is not set: point it at the rpc.json Stagecraft mounts (/etc/stagecraft/rpc.json)")
    try:
        with open(path, encoding="utf-8") as f:
            return parse_rpc(json.load(f), path)
    except OSError as e:
        raise ConfigError(f"{RPC_ENV}={path}: cannot read it ({e.strerror})") from e
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from e
