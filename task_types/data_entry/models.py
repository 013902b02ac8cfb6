"""What an NGO sends for a data-entry task, and what a volunteer sends back."""

from __future__ import annotations

from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    model_validator,
)

from task_types.text import fold

__all__ = ["DataEntryAnswer", "DataEntryPayload", "Document", "FieldKind", "FieldSpec", "RawValue"]

FieldKind = Literal["string", "number", "date", "enum", "email", "phone", "name"]
MAX_FIELDS = 100
MAX_CHOICES = 500
MAX_VALUE_CHARS = 2_000
MAX_DOCUMENT_CHARS = 50_000
MAX_URL_CHARS = 2_048


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise ValueError("image_url must be an http:// or https:// URL")
    return value


HttpUrlText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_URL_CHARS),
    AfterValidator(_http_url),
    Field(json_schema_extra={"format": "uri"}),
]
# Field names become JSON keys and CSV columns: no surrounding spaces, no line breaks.
FieldName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]
Choice = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# JSON numbers are welcome for number fields; booleans are refused rather than read as 0/1.
RawValue = (
    Annotated[StrictStr, StringConstraints(max_length=MAX_VALUE_CHARS)]
    | StrictInt
    | StrictFloat
    | None
)


class Document(BaseModel):
    """The source to read: its text, an image of it, or both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = Field(default=None, max_length=MAX_DOCUMENT_CHARS)
    image_url: HttpUrlText | None = None

    @model_validator(mode="after")
    def _something_to_read(self) -> Self:
        if not (self.text and self.text.strip()) and not self.image_url:
            raise ValueError("document needs a non-empty text or an image_url")
        return self


class FieldSpec(BaseModel):
    """One value to read from the document."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: FieldName
    type: FieldKind
    # Required unless said otherwise: a listed field is one the NGO wants, and a task with no
    # required field would count as agreed however much the volunteers disagree.
    required: bool = True
    choices: list[Choice] | None = Field(default=None, min_length=1, max_length=MAX_CHOICES)
    label: str | None = Field(default=None, max_length=200, description="Shown to volunteers")
    day_first: bool = Field(
        default=True, description="date fields: read 03/04/2024 as 3 April (False: March 4)"
    )
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(
        default=None,
        description="phone fields: the country (ISO 3166 code, e.g. 'KE') of numbers written "
        "without their international prefix, so that 0712 345 678 and +254 712 345678 read "
        "as one number (E.164)",
    )
    decimal_comma: bool = Field(
        default=False, description="number fields: read 1.234,5 as 1234.5 (False: 1,234.5)"
    )

    @model_validator(mode="after")
    def _choices_fit_the_type(self) -> Self:
        if self.type == "enum":
            if not self.choices:
                raise ValueError(f"enum field {self.name!r} needs a non-empty choices list")
            folded = [fold(choice) for choice in self.choices]
            if len(set(folded)) != len(folded):
                raise ValueError(
                    f"choices of field {self.name!r} must be unique (ignoring case and accents)"
                )
        elif self.choices is not None:
            raise ValueError(f"field {self.name!r}: choices only apply to enum fields")
        return self


class DataEntryPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    document: Document
    fields: list[FieldSpec] = Field(min_length=1, max_length=MAX_FIELDS)

    @model_validator(mode="after")
    def _field_names_unique(self) -> Self:
        seen: set[str] = set()
        for spec in self.fields:
            key = spec.name.casefold()
            if key in seen:
                raise ValueError(f"field names must be unique (ignoring case): {spec.name!r}")
            seen.add(key)
        return self

    def field(self, name: str) -> FieldSpec | None:
        return next((spec for spec in self.fields if spec.name == name), None)


class DataEntryAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    values: dict[str, RawValue] = Field(
        max_length=MAX_FIELDS,
        description='Field name -> value; null or a placeholder such as "N/A" when unreadable',
    )
