#!/usr/bin/env python3
"""A TCP proxy that behaves like a link: each direction delivers its bytes at most
--rate bytes/s, each chunk --latency seconds after it finished crossing (serialised
behind the chunks before it), as a token-bucket link with a propagation delay does.

SIGUSR1 switches both directions to --collapsed-rate (the link collapses) and logs
"collapsed at <unix time>" on stderr; SIGUSR2 back to --rate. bench/inference/run puts
it between the edge and the cloud for S4's WAN collapse mid-run.

  link_proxy.py --listen 127.0.0.1:9000 --to 127.0.0.1:8002 --rate 731250 --latency 0.05 \
      --collapsed-rate 71250
"""
import argparse
import asyncio
import signal
import sys
import time


class Link:
    def __init__(self, rate, latency):
        self.rate = rate
        self.latency = latency


async def pump(reader, writer, link):
    """Copies reader to writer as the link would deliver it."""
    loop = asyncio.get_running_loop()
    free_at = 0.0  # when the link finishes sending what it already has
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            now = loop.time()
            free_at = max(free_at, now) + len(data) / link.rate
            await queue.put((free_at + link.latency, data))
    except (ConnectionError, OSError):
        pass
    await queue.put((0, None))
    try:
        await sender
    except (ConnectionError, OSError):
        pass


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--rate", type=float, required=True, help="bytes/s each way")
    ap.add_argument("--latency", type=float, required=True, help="seconds one way")
    ap.add_argument("--collapsed-rate", type=float, required=True, help="bytes/s after SIGUSR1")
    args = ap.parse_args()
    link = Link(args.rate, args.latency)
    to_host, to_port = args.to.rsplit(":", 1)

    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(to_host, int(to_port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pump(client_reader, server_writer, link), pump(server_reader, client_writer, link))

    def collapse(rate, what):
        link.rate = rate
        print(f"{what} at {time.time():.6f}", file=sys.stderr, flush=True)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, collapse, args.collapsed_rate, "collapsed")
    loop.add_signal_handler(signal.SIGUSR2, collapse, args.rate, "restored")
    host, port = args.listen.rsplit(":", 1)
    server = await asyncio.start_server(handle, host, int(port))
    print("link proxy ready", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
