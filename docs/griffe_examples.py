"""A griffe extension: read a docstring's ``Example:`` section as Google style's ``Examples:``.

compgraph's docstrings say ``Example:`` (they hold one each); griffe knows only the plural,
and would otherwise render the doctest as Markdown, where ``>>>`` starts a block quote.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_SINGULAR = re.compile(r"^(\s*)Example:\s*$", re.MULTILINE)


class ExampleSections(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = _SINGULAR.sub(r"\1Examples:", obj.docstring.value)
