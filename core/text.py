"""Free text from outside (names, reasons, comments, notes, instructions): no control characters.

People read these strings: in the web pages, in exports opened in a spreadsheet, in a terminal,
in the NGO's own systems. Some characters there do harm without showing:

- NUL and the other C0 controls, DEL and the C1 controls (U+0080 to U+009F): they cut strings
  short in C code, move a terminal's cursor, forge line breaks in plain-text logs and files;
- the bidirectional embeddings and overrides (U+202A to U+202E) and isolates (U+2066 to
  U+2069): they reorder what follows them on screen, so a name or a comment can display as
  something else than what it holds ("Trojan Source", CVE-2021-42574).

:data:`ONE_LINE` (names, ids) refuses all of them, tab and line breaks (U+2028 and U+2029
too) included; :data:`PARAGRAPHS` (instructions, notes, comments, reasons) lets tab, LF and CR
through. Both leave the right-to-left and left-to-right marks (U+200E, U+200F, U+061C) alone:
Arabic or Hebrew text needs them, and they reorder nothing beyond their neighbours.

Task payloads and answers are *not* checked: they are the NGO's data and the volunteers' work,
stored byte for byte and returned as given. A translation source in Arabic with embedded Latin
may rightly hold embeddings or isolates, and refusing it would lose work for no safety gained:
the web pages show payloads isolated (``dir="auto"``), where an override cannot leak out.

Use them as the last part of an ``Annotated`` string type, after its ``StringConstraints``
(so whitespace is stripped first). A refusal is a validation error of type
``control_characters``; the JSON Schema gets the matching ``pattern``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

__all__ = ["ONE_LINE", "PARAGRAPHS", "PlainText"]

_ALWAYS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_LINE_BREAKS = r"\x09\x0a\x0d\u2028\u2029"


@dataclass(frozen=True, slots=True)
class PlainText:
    """A pydantic annotation refusing control and bidi-override characters in a string."""

    multiline: bool

    @property
    def forbidden(self) -> str:
        """The refused characters, as the inside of a regular expression's ``[...]``."""
        return _ALWAYS if self.multiline else _ALWAYS + _LINE_BREAKS

    def allows(self, value: str) -> bool:
        return re.search(f"[{self.forbidden}]", value) is None

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        found = re.compile(f"[{self.forbidden}]").search
        what = "control or bidirectional-override characters" + (
            "" if self.multiline else ", tabs or line breaks"
        )

        def check(value: str) -> str:
            if found(value):
                raise PydanticCustomError("control_characters", f"no {what} allowed here")
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = f"^[^{self.forbidden}]*$"
        return json_schema


#: Names and other one-line text.
ONE_LINE = PlainText(multiline=False)
#: Text that may run over several lines: instructions, notes, comments, reasons.
PARAGRAPHS = PlainText(multiline=True)
