import pynng_core
