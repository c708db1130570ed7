from setuptools import setup

setup(cffi_modules=["src/pynng_core/_build.py:ffibuilder"])
