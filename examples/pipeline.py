"""A push/pull work pipeline: a ventilator, workers and a sink.

The ventilator pushes tasks; each task goes to one worker (round-robin over
the connected workers).  Workers push their results to the sink, which pulls
from all of them.  Workers and sink are threads here; they could as well be
processes on other machines, with tcp:// addresses.
"""
import threading
import time

import pynng_core

TASKS = "inproc://tasks"
RESULTS = "inproc://results"
WORKERS = 3
TASK_COUNT = 30


def work(worker_id: int, tasks: pynng_core.Pull0, results: pynng_core.Push0) -> None:
    """Square numbers until the task socket is closed."""
    while True:
        try:
            task = int(tasks.recv())
        except pynng_core.Closed:
            return
        results.send(b"%d %d" % (worker_id, task * task))


with pynng_core.Push0(listen=TASKS) as ventilator, \
        pynng_core.Pull0(listen=RESULTS, recv_timeout=2000) as sink:
    sockets = [(pynng_core.Pull0(dial=TASKS), pynng_core.Push0(dial=RESULTS))
               for _ in range(WORKERS)]
    threads = [threading.Thread(target=work, args=(i, tasks, results))
               for i, (tasks, results) in enumerate(sockets)]
    for thread in threads:
        thread.start()
    # Wait for every worker: tasks sent earlier would all go to the first one.
    while len(ventilator.pipes) < WORKERS:
        time.sleep(0.01)

    for task in range(TASK_COUNT):
        ventilator.send(b"%d" % task)

    total = 0
    per_worker = [0] * WORKERS
    for _ in range(TASK_COUNT):
        worker_id, square = map(int, sink.recv().split())
        per_worker[worker_id] += 1
        total += square

    # Closing a socket wakes the thread blocked in its recv with Closed.
    for tasks, results in sockets:
        tasks.close()
        results.close()
    for thread in threads:
        thread.join()

print("tasks done per worker:", per_worker)
print("sum of squares:", total)
