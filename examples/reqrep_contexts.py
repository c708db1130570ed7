"""A request/reply service: one Rep0 socket, several worker threads.

Each worker has its own context on the server socket, so each can hold a
request it has not answered yet while the others take more.  The client
side does the same with a Req0 socket: one context per thread, each with its
own request under way.
"""
import threading

import pynng_core

WORKERS = 3
CLIENTS = 4
REQUESTS_PER_CLIENT = 3


def serve(ctx: pynng_core.Context, worker_id: int) -> None:
    """Answer requests on one context until the socket closes."""
    while True:
        try:
            request = ctx.recv()
        except pynng_core.Closed:
            return
        ctx.send(b"%s (worker %d)" % (request.upper(), worker_id))


def ask(ctx: pynng_core.Context, client_id: int, replies: list[str]) -> None:
    for n in range(REQUESTS_PER_CLIENT):
        ctx.send(b"request %d from client %d" % (n, client_id))
        replies.append(ctx.recv().decode())


with pynng_core.Rep0() as server, pynng_core.Req0(recv_timeout=2000) as client:
    # Port 0: the system picks a free port, which the listener reports.
    listener = server.listen("tcp://127.0.0.1:0")
    client.dial("tcp://127.0.0.1:%d" % listener.port)

    workers = [threading.Thread(target=serve, args=(server.new_context(), i))
               for i in range(WORKERS)]
    for worker in workers:
        worker.start()

    replies: list[str] = []
    clients = [threading.Thread(target=ask, args=(client.new_context(), i, replies))
               for i in range(CLIENTS)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()

    for reply in sorted(replies):
        print(reply)
    print("%d replies" % len(replies))
# Leaving the with block closed the server: every worker's recv raised Closed.
for worker in workers:
    worker.join()
