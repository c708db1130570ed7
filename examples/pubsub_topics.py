"""Publish/subscribe with topics.

A subscriber receives the messages that start with one of its topics; the
filtering happens on the subscriber's side.  A publisher never waits for
its subscribers: what it sends before they are connected is lost, so this
program waits for both to connect before publishing.
"""
import time

import pynng_core

with pynng_core.Pub0() as publisher:
    listener = publisher.listen("tcp://127.0.0.1:0")  # port 0: the system picks one
    address = "tcp://127.0.0.1:%d" % listener.port
    # topics= is one topic or a list; a str topic is its UTF-8 bytes.
    weather = pynng_core.Sub0(dial=address, topics="weather/", recv_timeout=300)
    news = pynng_core.Sub0(dial=address, topics=["news/", "weather/paris"], recv_timeout=300)
    while len(publisher.pipes) < 2:  # both subscribers are connected
        time.sleep(0.01)

    for message in [b"weather/paris rain", b"news/local fair on sunday",
                    b"sports/final 2-1", b"weather/oslo snow", b"news/world calm"]:
        publisher.send(message)

    for name, subscriber in (("weather", weather), ("news", news)):
        while True:
            try:
                print("%s got %s" % (name, subscriber.recv().decode()))
            except pynng_core.Timeout:  # nothing more came within recv_timeout
                break
        subscriber.close()
    # Nobody subscribed to "sports/": that message reached no one.
