"""Reading NGOs' files into task rows, and writing results back, without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from producers.formats import format_of
from producers.formats.catalogs import Catalog, bcp47
from producers.formats.csv_rows import read_csv
from producers.formats.jsonl_rows import read_jsonl
from producers.formats.result_files import CsvResults, build_catalog
from producers.formats.rows import content_external_id
from producers.models import Result
from producers.validation import ItemValidator
from task_types import get

DATA_ENTRY = get("data_entry").payload_model.model_json_schema()


def result(external_id: str, text: str | None, confidence: float = 0.95) -> Result:
    return Result(
        task_id="t0000000001",
        external_id=external_id,
        answer=None if text is None else {"text": text},
        confidence=confidence,
        method="agreement" if text else "rejected",
        decided_at=datetime(2030, 1, 1, tzinfo=UTC),
    )


def test_csv_columns_nest_by_dots_and_cells_follow_the_payload_schema() -> None:
    fields = '[{""name"": ""amount"", ""type"": ""number""}]'
    data = (
        "external_id,document.text,fields,priority,gold_answer\n"
        f'slip-1,"Donation: 25 EUR","{fields}",2,"{{""values"": {{""amount"": 25}}}}"\n'
    ).encode()
    [row] = list(read_csv(data, DATA_ENTRY))
    assert row.line == 2 and row.problems == []
    assert row.item == {
        "external_id": "slip-1",
        "priority": 2,
        "gold_answer": {"values": {"amount": 25}},
        "payload": {
            "document": {"text": "Donation: 25 EUR"},
            "fields": [{"name": "amount", "type": "number"}],
        },
    }
    assert ItemValidator("data_entry").problems(row.item) == []


def test_csv_line_numbers_count_physical_lines_and_skip_blank_ones() -> None:
    schema = get("moderation").payload_model.model_json_schema()
    data = b'\xef\xbb\xbfcontent,labels\n"two\nlines",ok|spam\n\n"[not json",ok|spam\nx\n'
    rows = list(read_csv(data, schema))
    assert [row.line for row in rows] == [2, 5, 6]
    assert rows[0].item == {"payload": {"content": "two\nlines", "labels": ["ok", "spam"]}}
    assert rows[1].item is not None and rows[1].item["payload"]["content"] == "[not json"
    assert rows[2].item is None and "cells" in str(rows[2].problems[0])


def test_jsonl_lines_are_items_or_bare_payloads() -> None:
    data = b'{"payload": {"a": 1}, "external_id": "x"}\n\n{"a": 2}\n[1]\nnope\n{"a": NaN}\n'
    rows = list(read_jsonl(data))
    assert [(row.line, row.item) for row in rows[:2]] == [
        (1, {"payload": {"a": 1}, "external_id": "x"}),
        (3, {"payload": {"a": 2}}),
    ]
    assert [row.line for row in rows[2:]] == [4, 5, 6]
    assert all(row.item is None for row in rows[2:])


def test_content_ids_depend_on_the_content_only() -> None:
    one = {"payload": {"content": "hi", "labels": ["a", "b"]}}
    assert content_external_id(one) == content_external_id({**one, "priority": 0})
    assert content_external_id(one) != content_external_id({**one, "priority": 1})
    assert content_external_id(one).startswith("row-") and len(content_external_id(one)) == 36


def test_language_tags_and_formats() -> None:
    assert bcp47("pt_BR") == "pt-BR"
    assert bcp47("sr@latin") == "sr-Latn"
    assert bcp47("de_DE.UTF-8") == "de-DE"
    assert bcp47("") is None
    assert format_of(Path("a.XLIFF")) == "xliff"
    assert format_of(Path("a.ndjson")) == "jsonl"
    assert format_of(Path("a.txt")) is None


PO = b"""msgid ""
msgstr ""
"Language: ru\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=3; plural=(n%10==1 ? 0 : n%10>=2 && n%10<=4 ? 1 : 2);\\n"

#| msgid "Old text"
msgid "Hello"
msgstr ""

#, python-brace-format
msgid "{n} file"
msgid_plural "{n} files"
msgstr[0] ""
msgstr[1] ""
msgstr[2] ""
"""


def test_po_units_get_stable_ids_lines_and_plural_forms() -> None:
    catalog = Catalog.parse(PO, "po")
    assert catalog.target_language == "ru" and catalog.source_language is None
    units = list(catalog.untranslated("ru"))
    assert [(u.line, u.source_text) for u in units] == [(8, "Hello"), (12, "{n} file"),
                                                         (12, "{n} files")]  # fmt: skip
    assert units[1].external_id.endswith("#0") and units[2].external_id.endswith("#1")
    again = [u.external_id for u in Catalog.parse(PO, "po").untranslated("ru")]
    assert again == [u.external_id for u in units]
    assert [u.external_id for u in catalog.untranslated("uk")] != again  # per language

    results = {
        units[0].external_id: result(units[0].external_id, "Привет"),
        units[1].external_id: result(units[1].external_id, "{n} файл"),
        units[2].external_id: result(units[2].external_id, "{n} файлов"),
    }
    report = catalog.apply(results, "ru", review_below=0.8)
    assert (report.translated, report.needs_review) == (1, 1)  # 3 plural forms: a person checks
    written = Catalog.parse(catalog.to_bytes(), "po")
    hello, plural = [u for u in written.store.units if not u.isheader()]
    assert (str(hello.target), hello.isfuzzy()) == ("Привет", False)
    assert list(plural.target.strings) == ["{n} файл", "{n} файлов", "{n} файлов"]
    assert plural.isfuzzy()


def test_a_lost_placeholder_or_a_low_confidence_marks_the_entry_fuzzy() -> None:
    po = b'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n#, c-format\nmsgid "%d items"\nmsgstr ""\n'
    catalog = Catalog.parse(po, "po")
    [unit] = catalog.untranslated("fr")
    catalog.apply({unit.external_id: result(unit.external_id, "des articles")}, "fr", 0.8)
    assert Catalog.parse(catalog.to_bytes(), "po").store.units[1].isfuzzy()
    catalog = Catalog.parse(po, "po")
    catalog.apply({unit.external_id: result(unit.external_id, "%d articles", 0.5)}, "fr", 0.8)
    assert Catalog.parse(catalog.to_bytes(), "po").store.units[1].isfuzzy()
    catalog = Catalog.parse(po, "po")
    report = catalog.apply({unit.external_id: result(unit.external_id, None)}, "fr", 0.8)
    assert report.rejected == 1 and not catalog.store.units[1].target


def test_xliff_ids_follow_the_source_text_and_writing_back_keeps_the_file_valid() -> None:
    xlf = b"""<?xml version="1.0" encoding="UTF-8"?>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">
  <file original="a.html" source-language="en" target-language="de" datatype="html"><body>
    <trans-unit id="t1"><source>Hello</source></trans-unit>
    <trans-unit id="t2"><source>Bye</source></trans-unit>
  </body></file>
</xliff>
"""
    catalog = Catalog.parse(xlf, "xliff")
    first, second = catalog.untranslated("de")
    assert first.external_id.startswith("xlf:de:a.html/t1#") and first.line == 4
    edited = xlf.replace(b"<source>Hello</source>", b"<source>Hello there</source>")
    assert next(Catalog.parse(edited, "xliff").untranslated("de")).external_id != first.external_id
    report = catalog.apply(
        {
            first.external_id: result(first.external_id, "Hallo"),
            second.external_id: result(second.external_id, "Tschüss", 0.5),
        },
        "de",
        0.8,
    )
    assert (report.translated, report.needs_review) == (1, 1)
    states = [
        u.getlanguageNode(lang=None, index=1).get("state")
        for u in Catalog.parse(catalog.to_bytes(), "xliff").store.units
    ]
    assert states == ["translated", "needs-review-translation"]


def test_csv_results_have_a_column_per_answer_field_nested_by_dots() -> None:
    def entry(answer: dict[str, Any] | None) -> Result:
        return Result(
            task_id="t1", answer=answer, confidence=1, method="agreement",
            decided_at=datetime(2030, 1, 1, tzinfo=UTC),
        )  # fmt: skip

    record = {"values": {"name": "Ada", "amount": 12.5, "town": None}}
    table = CsvResults()
    assert table.header([entry(record), entry(None)]) == (
        "task_id,external_id,values.name,values.amount,values.town,confidence,method,"
        "decided_at,answer_other\r\n"
    )
    assert table.line(entry(record)) == ("t1,,Ada,12.5,,1.000,agreement,2030-01-01T00:00:00Z,\r\n")
    labelled = CsvResults()
    label = {"label": "spam", "reasons": ["advertising", "link"]}
    labelled.header([entry(label)])
    assert ",spam,advertising|link,1.000," in labelled.line(entry(label))
    later = entry({"label": "ok", "note": "+1"})  # a field the header does not name: kept
    assert labelled.line(later).endswith(',"{""note"":""+1""}"\r\n')


def test_results_as_csv_and_as_a_new_catalog() -> None:
    table = CsvResults(with_source=True)
    first = result("=cmd", "Hallo", 0.9158878504672897)
    header = table.header([first])
    assert header == (
        "task_id,external_id,source_text,text,confidence,method,decided_at,answer_other\r\n"
    )
    row = table.line(first, "Hello")
    # No formula for a spreadsheet to run; confidence to three places.
    assert row == "t0000000001,'=cmd,Hello,Hallo,0.916,agreement,2030-01-01T00:00:00Z,\r\n"
    payload = {"source_text": "Hello", "source_lang": "en", "target_lang": "de"}
    for kind in ("po", "xliff"):
        built = build_catalog(kind, [(result("e1", "Hallo", 0.5), payload)], 0.8)
        catalog = Catalog.parse(built, kind)
        [unit] = [u for u in catalog.store.units if not u.isheader()]
        assert (str(unit.source), str(unit.target), unit.isfuzzy()) == ("Hello", "Hallo", True)
        assert catalog.target_language == "de"
