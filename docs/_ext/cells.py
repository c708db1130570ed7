"""What the table directives (exception_table, option_table) put in a cell."""
from docutils import nodes


def paragraph(directive, text, literal=False):
    """A cell's paragraph: ``text`` as code, or with its inline markup
    (``code``) parsed."""
    para = nodes.paragraph()
    if literal:
        para += nodes.literal(text=text)
    else:
        inline, messages = directive.state.inline_text(text, directive.lineno)
        para.extend(inline + messages)
    return para
