"""An asyncio server: many concurrent clients, one Rep0 socket, contexts.

Each server task owns a context, so the server answers as many requests at
once as it has tasks, all on one socket and one event loop.  The clients
share one Req0 socket the same way: a context per request under way.
"""
import asyncio

import pynng_core

ADDRESS = "tcp://127.0.0.1:0"  # port 0: the system picks a free one
SERVER_TASKS = 8
CLIENTS = 50


async def serve(ctx: pynng_core.Context) -> None:
    """Answer requests on one context until the socket closes."""
    while True:
        try:
            request = await ctx.arecv()
        except pynng_core.Closed:
            return
        await asyncio.sleep(0.01)  # the work: other requests proceed meanwhile
        await ctx.asend(request[::-1])


async def ask(client: pynng_core.Req0, n: int) -> bytes:
    with client.new_context() as ctx:
        await ctx.asend(b"request %03d" % n)
        return await ctx.arecv()


async def main() -> None:
    with pynng_core.Rep0() as server, pynng_core.Req0(recv_timeout=5000) as client:
        listener = server.listen(ADDRESS)
        client.dial("tcp://127.0.0.1:%d" % listener.port)
        servers = [asyncio.create_task(serve(server.new_context()))
                   for _ in range(SERVER_TASKS)]

        started = asyncio.get_running_loop().time()
        replies = await asyncio.gather(*(ask(client, n) for n in range(CLIENTS)))
        elapsed = asyncio.get_running_loop().time() - started

        print("first replies:", [r.decode() for r in replies[:3]])
        print("%d replies in %.2f s (one at a time would take %.2f s)"
              % (len(replies), elapsed, CLIENTS * 0.01))
    # Closing the server woke each serve() task with Closed.
    await asyncio.gather(*servers)


asyncio.run(main())
