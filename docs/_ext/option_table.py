"""The ``pynng-core-options`` directive: a table of option properties.

``.. pynng-core-options:: pynng_core.Req0`` lists the option properties
(``pynng_core.options.Option``) that class defines itself, not those it
inherits: each with its NNG option name, its type, whether it can be set,
and its docstring.  Made from the classes when the docs are built, so the
table follows the code.
"""
import importlib

from docutils import nodes
from docutils.parsers.rst import Directive

from cells import paragraph
from pynng_core.options import Option

KIND_NAMES = {int: "int", bool: "bool", str: "str"}


def own_options(cls):
    """(attribute, Option) pairs ``cls`` itself defines, in source order."""
    return [(name, value) for name, value in vars(cls).items() if isinstance(value, Option)]


def _cell(directive, text, literal=False):
    return nodes.entry("", paragraph(directive, text, literal))


class OptionTable(Directive):
    required_arguments = 1  # the class's dotted path

    def run(self):
        module_name, _, class_name = self.arguments[0].rpartition(".")
        cls = getattr(importlib.import_module(module_name), class_name)
        options = own_options(cls)
        if not options:
            raise self.error("%s defines no option properties" % self.arguments[0])
        headers = ["Property", "NNG option", "Type", "Access", "Meaning"]
        table = nodes.table(classes=["colwidths-given"])
        group = nodes.tgroup(cols=len(headers))
        table += group
        for width in (18, 18, 5, 10, 49):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        row = nodes.row()
        for header in headers:
            row += _cell(self, header)
        head += row
        body = nodes.tbody()
        group += body
        for name, option in options:
            row = nodes.row()
            access = "read" if option.readonly else "read/write"
            if type(option).__get__ is not Option.__get__:
                access = "write"  # the TLS options: set before start, never read back
            for cell in (_cell(self, name, True), _cell(self, option.nng_name, True),
                         _cell(self, KIND_NAMES[option.kind]), _cell(self, access),
                         _cell(self, " ".join(option.__doc__.split()))):
                row += cell
            body += row
        return [table]


def setup(app):
    app.add_directive("pynng-core-options", OptionTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
