"""Sphinx configuration for pynng_core's documentation.

Build: ``python3 .ci/docs.py`` (warnings are errors, then every link within
the site is checked), or ``sphinx-build -n docs docs/_build/html``.  The
pynng_core documented is the one Python imports: an installed one, or
``src/`` with PYTHONPATH=src after ``setup.py build_ext --inplace``.
"""
import builtins
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

import pynng_core  # noqa: E402
from pynng_core.options import _ReadOnlyProperty  # noqa: E402
from sphinx.util.docstrings import prepare_docstring  # noqa: E402

project = "pynng_core"
author = "pynng_core's authors"
copyright = "%s, %s" % (time.strftime("%Y"), author)
release = version = pynng_core.__version__

extensions = [
    "sphinx.ext.autodoc",
    "myst_parser",
    "exception_table",
    "option_table",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# _results holds output that pages include, not pages of its own.
exclude_patterns = ["_build", "_results"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = "pynng_core %s" % release
html_static_path = ["_static"]

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}

# Nitpicky mode (-n) resolves every cross-reference.  Without intersphinx
# (the build needs no network) the built-in and standard-library types that
# signatures name have no target here: they are left as plain text.
nitpick_ignore = [("py:class", name) for name in dir(builtins)]
nitpick_ignore_regex = [("py:class", r"(typing|collections\.abc|asyncio|trio|ssl|os)\..*")]


def public_bases(app, name, obj, options, bases):
    """Show a class's bases as the public classes it derives from: a private
    helper base (SendRecv, _WithOptions, ...) is replaced by its own bases,
    which are not documented either."""
    public = []
    pending = list(bases)
    while pending:
        base = pending.pop(0)
        if getattr(pynng_core, base.__name__, None) is base or base is object:
            if base not in public:
                public.append(base)
        else:
            pending[:0] = base.__bases__
    bases[:] = [b for b in public if b is not object] or [object]


def getter_docstring(app, what, name, obj, options, lines):
    """A read-only property's docstring, from its getter.

    pynng_core.options makes each property without a setter a
    _ReadOnlyProperty, passing the getter's docstring as ``doc=``; CPython
    3.10 and 3.11 drop a ``doc=`` given to a property subclass (3.12 keeps
    it), so there the object reports its class's docstring instead, and
    autodoc took the property for an undocumented one.  The getter still
    has the text.
    """
    if isinstance(obj, _ReadOnlyProperty) and obj.fget.__doc__:
        lines[:] = prepare_docstring(obj.fget.__doc__)


def setup(app):
    app.connect("autodoc-process-bases", public_bases)
    app.connect("autodoc-process-docstring", getter_docstring)
