from setuptools import setup

setup(cffi_modules=["pynng_core/_build.py:ffibuilder"])
