"""An asyncio loop without add_reader, as the async layer sees the Proactor
loop (Windows' default) on any platform: add_reader and remove_reader raise
NotImplementedError as the Proactor loop's do."""
import asyncio


class NoAddReaderLoop(asyncio.SelectorEventLoop):
    def add_reader(self, fd, callback, *args):
        raise NotImplementedError

    def remove_reader(self, fd):
        raise NotImplementedError


class NoAddReaderLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """Makes asyncio.run and new_event_loop use NoAddReaderLoop."""

    def new_event_loop(self):
        return NoAddReaderLoop()
