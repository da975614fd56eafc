"""tormq, the push service (components/app/PushService.ts): `python -m app.tormq --port=P
--zmq-port=Z --path=/push`.

Clients hold a websocket on any replica at `<path>/<channel>` (or `<path>?channel=a&channel=b`).
Backends publish to every replica: each replica BINDs a ZeroMQ SUB socket on the zmq port, and
publishers connect their PUB socket to all replicas (the headless Service's DNS lists them), so
replicas never relay to each other. Frames: [channel, JSON message]. /healthz on the HTTP port.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
from collections import defaultdict
from typing import Any

import tornado.web
import tornado.websocket
import zmq
import zmq.asyncio

log = logging.getLogger("app.tormq")
CHANNEL = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
MAX_CHANNELS = 16


class Hub:
    """Who listens to which channel, in this replica."""

    def __init__(self) -> None:
        self.subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self.delivered = 0

    def add(self, ws: Subscriber, channels: list[str]) -> None:
        for c in channels:
            self.subscribers[c].add(ws)

    def remove(self, ws: Subscriber) -> None:
        for c in list(self.subscribers):
            self.subscribers[c].discard(ws)
            if not self.subscribers[c]:
                del self.subscribers[c]

    def deliver(self, channel: str, message: str) -> int:
        n = 0
        for ws in list(self.subscribers.get(channel, ())):
            try:
                ws.write_message(message)
                n += 1
            except tornado.websocket.WebSocketClosedError:
                self.remove(ws)
        self.delivered += n
        return n


class Subscriber(tornado.websocket.WebSocketHandler):
    def initialize(self, hub: Hub) -> None:
        self.hub = hub

    def check_origin(self, origin: str) -> bool:
        # Browsers from any origin may subscribe: channels carry public notifications only.
        return True

    async def get(self, *args: Any, **kwargs: Any) -> None:
        channels = self._channels(*args)
        if isinstance(channels, str):
            self.set_status(400)
            self.finish({"error": {"code": "bad_input", "message": channels}})
            return
        self.channels = channels
        await super().get(*args, **kwargs)

    def _channels(self, path_channel: str | None = None) -> list[str] | str:
        channels = [path_channel] if path_channel else self.get_query_arguments("channel")
        if not channels:
            return "name a channel: <path>/<channel> or ?channel=<channel>"
        if len(channels) > MAX_CHANNELS:
            return f"at most {MAX_CHANNELS} channels per connection"
        bad = [c for c in channels if not CHANNEL.match(c)]
        if bad:
            return f"channel names must be 1-128 of A-Z a-z 0-9 _ . : -, got {bad}"
        return channels

    def open(self, *args: Any, **kwargs: Any) -> None:
        self.hub.add(self, self.channels)

    def on_message(self, message: str | bytes) -> None:
        pass  # subscribers only listen

    def on_close(self) -> None:
        self.hub.remove(self)


class Health(tornado.web.RequestHandler):
    def get(self) -> None:
        self.finish({"status": "ok"})


def make_app(hub: Hub, path: str) -> tornado.web.Application:
    p = re.escape(path.rstrip("/"))
    return tornado.web.Application(
        [
            (r"/healthz", Health),
            (rf"{p}/([A-Za-z0-9_.:-]+)", Subscriber, {"hub": hub}),
            (rf"{p}/?", Subscriber, {"hub": hub}),
        ],
        websocket_ping_interval=30,
    )


async def pump(sock: zmq.asyncio.Socket, hub: Hub) -> None:
    while True:
        frames = await sock.recv_multipart()
        if len(frames) != 2:
            log.warning("dropped a message of %d frames (want [channel, message])", len(frames))
            continue
        try:
            channel, message = frames[0].decode(), frames[1].decode()
        except UnicodeDecodeError:
            log.warning("dropped a message that is not UTF-8")
            continue
        hub.deliver(channel, message)


async def serve(port: int, zmq_port: int, path: str, host: str = "", stop: asyncio.Event | None = None) -> None:
    hub = Hub()
    ctx = zmq.asyncio.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.LINGER, 0)
    sub.bind(f"tcp://{host or '*'}:{zmq_port}")
    server = make_app(hub, path).listen(port, address=host)
    task = asyncio.create_task(pump(sub, hub))
    log.info("tormq: websockets on :%d%s, ZeroMQ SUB on :%d", port, path, zmq_port)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (RuntimeError, ValueError):
            pass  # not the main thread (tests)
    await stop.wait()
    server.stop()
    for subscribers in list(hub.subscribers.values()):
        for ws in list(subscribers):
            ws.close(1001, "server going away; reconnect")
    task.cancel()
    sub.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app.tormq")
    parser.add_argument("--port", type=int, required=True, help="websocket + /healthz port")
    parser.add_argument("--zmq-port", type=int, required=True, help="ZeroMQ SUB port publishers connect to")
    parser.add_argument("--path", required=True, help="websocket path, e.g. /push")
    args = parser.parse_args(argv)
    if not args.path.startswith("/"):
        parser.error(f"--path must start with '/', got '{args.path}'")
    if args.port == args.zmq_port:
        parser.error("--port and --zmq-port must differ")
    return args


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parse_args(argv)
    asyncio.run(serve(args.port, args.zmq_port, args.path))


if __name__ == "__main__":
    main()
