from setuptools import setup
from setuptools.command.build_py import build_py


class build_py_without_builder(build_py):
    """Leave the cffi builder out of wheels and installs: it runs at build
    time from the source tree (cffi_modules below names it by path) and
    means nothing in an installed package."""

    def find_package_modules(self, package, package_dir):
        return [(pkg, module, path)
                for pkg, module, path in super().find_package_modules(package, package_dir)
                if (pkg, module) != ("pynng_core", "_build")]


setup(
    cffi_modules=["src/pynng_core/_build.py:ffibuilder"],
    cmdclass={"build_py": build_py_without_builder},
    # The module uses the stable ABI only (cffi's Py_LIMITED_API, and
    # _hotpath.c compiled into it), so one wheel serves every CPython from
    # the oldest supported one: tagged cp310-abi3.
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
