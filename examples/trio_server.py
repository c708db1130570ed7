"""A trio server: the asyncio example's service, under trio.

pynng_core finds out which event loop it runs in, so the same calls
(``arecv``, ``asend``) work in trio.  Server tasks each own a context of one
Rep0 socket; clients each own a context of one Req0 socket.
"""
import trio

import pynng_core

SERVER_TASKS = 8
CLIENTS = 50


async def serve(ctx: pynng_core.Context) -> None:
    """Answer requests on one context until the socket closes."""
    while True:
        try:
            request = await ctx.arecv()
        except pynng_core.Closed:
            return
        await trio.sleep(0.01)  # the work: other requests proceed meanwhile
        await ctx.asend(request.upper())


async def ask(client: pynng_core.Req0, n: int, replies: list[bytes]) -> None:
    with client.new_context() as ctx:
        await ctx.asend(b"request %03d" % n)
        replies[n] = await ctx.arecv()


async def main() -> None:
    replies = [b""] * CLIENTS
    with pynng_core.Rep0() as server, pynng_core.Req0(recv_timeout=5000) as client:
        listener = server.listen("tcp://127.0.0.1:0")  # port 0: the system picks one
        client.dial("tcp://127.0.0.1:%d" % listener.port)
        async with trio.open_nursery() as servers:
            for _ in range(SERVER_TASKS):
                servers.start_soon(serve, server.new_context())

            started = trio.current_time()
            async with trio.open_nursery() as clients:
                for n in range(CLIENTS):
                    clients.start_soon(ask, client, n, replies)
            elapsed = trio.current_time() - started

            print("first replies:", [r.decode() for r in replies[:3]])
            print("%d replies in %.2f s (one at a time would take %.2f s)"
                  % (len(replies), elapsed, CLIENTS * 0.01))
            server.close()  # each serve() task wakes with Closed and returns


trio.run(main)
