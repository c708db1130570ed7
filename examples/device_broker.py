"""A request/reply broker: pynng_core.device between two raw sockets.

Clients (Req0) connect to the front, workers (Rep0) to the back.  The device
forwards requests from front to back and replies from back to front, inside
the core: no Python code touches the messages.  Raw sockets keep the
protocol's headers in the messages, which is how each reply finds its way
back to the client that asked.
"""
import threading

import pynng_core

FRONT = "inproc://broker-front"
BACK = "inproc://broker-back"
WORKERS = 2
CLIENTS = 3


def serve(worker_id: int, worker: pynng_core.Rep0) -> None:
    while True:
        try:
            request = worker.recv()
        except pynng_core.Closed:
            return
        worker.send(request + b" -> served by worker %d" % worker_id)


front = pynng_core.Rep0(raw=True, listen=FRONT)
back = pynng_core.Req0(raw=True, listen=BACK)
# device() runs until either socket closes, so it gets a thread of its own.
broker = threading.Thread(target=pynng_core.device, args=(front, back))
broker.start()

workers = [pynng_core.Rep0(dial=BACK) for _ in range(WORKERS)]
threads = [threading.Thread(target=serve, args=(i, w)) for i, w in enumerate(workers)]
for thread in threads:
    thread.start()

replies: list[str] = []
for client_id in range(CLIENTS):
    with pynng_core.Req0(dial=FRONT, recv_timeout=2000) as client:
        for n in range(2):
            client.send(b"client %d request %d" % (client_id, n))
            replies.append(client.recv().decode())

for reply in replies:
    print(reply)

front.close()  # ends the device
back.close()
broker.join()
for worker in workers:
    worker.close()
for thread in threads:
    thread.join()
print("%d replies through the broker" % len(replies))
