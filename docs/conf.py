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
nitpick_ignore_regex = [("py:class", r"(builtins|types|typing|typing_extensions|collections\.abc"
                                     r"|asyncio|trio|ssl|os)\..*")]
# Names only type checkers see: Buffer is any object with the buffer
# protocol (typing_extensions' name for it), CData a cffi pointer, Topic and
# Opener the package's own aliases for what a subscription and a
# pynng_core.lib opener take.
nitpick_ignore += [("py:class", name)
                   for name in ("Buffer", "CData", "Topic", "pynng_core.openers.Opener")]


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


def public_name(app, env, node, contnode):
    """Resolve ``pynng_core.<module>.<Name>``, as a signature's annotation
    names a class, to ``pynng_core.<Name>``, where the API reference
    documents it."""
    target = node.get("reftarget", "")
    parts = target.split(".")
    if node.get("refdomain") != "py" or len(parts) != 3 or parts[0] != "pynng_core":
        return None
    if getattr(pynng_core, parts[2], None) is None:
        return None
    domain = env.get_domain("py")
    return domain.resolve_xref(env, node.get("refdoc"), app.builder, node["reftype"],
                               "pynng_core." + parts[2], node, contnode)


def setup(app):
    app.connect("autodoc-process-bases", public_bases)
    app.connect("missing-reference", public_name)
