"""The console's server-drawn charts (web/ngo/charts.py): well-formed SVG with a title, a
description and role="img", every label escaped, no inline style, a data table that matches the
data, the French labels, and the rendered partial clean under axe-core in Chromium."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from core.insights import StateSnapshot
from tests.support.web import DESKTOP, PHONE, assert_accessible
from web.i18n import language
from web.ngo.charts import Chart, line_chart, progress_bar, stacked_bars, states_chart
from web.pages import environment

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "quoted" \' <b>'
DAYS = [date(2025, 3, 1) + timedelta(days=i) for i in range(30)]
CSS = Path(__file__).parents[2] / "web" / "static" / "css"


def charts() -> list[Chart]:
    answers = [float(i % 7 * 3) for i in range(30)]
    results = [float(i % 5) for i in range(30)]
    return [
        line_chart("answers", HOSTILE, HOSTILE, DAYS, [(HOSTILE, answers), ("Results", results)]),
        stacked_bars(
            "states",
            "Tasks per state",
            "Open and resolved tasks per day",
            [HOSTILE, "b", "c"],
            [(HOSTILE, [5, 3, 1]), ("Resolved", [1, 3, 6])],
            category_header="Day",
        ),
        progress_bar("progress", HOSTILE, HOSTILE, 620, 1000),
    ]


@pytest.mark.parametrize("chart", charts(), ids=lambda c: c.chart_id)
def test_the_svg_is_well_formed_titled_and_escaped(chart: Chart) -> None:
    root = ET.fromstring(str(chart.svg))  # noqa: S314 (our own output)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and desc is not None
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == chart.title and desc.text == chart.description
    markup = str(chart.svg)
    assert "<script" not in markup and "<b>" not in markup
    assert not re.search(r"\sstyle=", markup)
    assert not re.search(r"\son\w+=", markup)
    texts = "".join(root.itertext())
    if HOSTILE in chart.title:
        assert HOSTILE in texts  # the label survives, as text


def test_the_line_chart_table_matches_its_data() -> None:
    chart = line_chart(
        "answers", "Answers", "Per day", DAYS[:3], [("Answers", [1, 20, 3]), ("Results", [0, 2, 0])]
    )
    assert chart.columns == ("Day", "Answers", "Results")
    assert chart.rows == (
        ("Mar 1, 2025", "1", "0"),
        ("Mar 2, 2025", "20", "2"),
        ("Mar 3, 2025", "3", "0"),
    )
    root = ET.fromstring(str(chart.svg))  # noqa: S314
    polylines = root.findall(f"{SVG}polyline")
    assert len(polylines) == 2
    assert polylines[0].get("stroke-dasharray") is None  # solid
    assert polylines[1].get("stroke-dasharray")  # dashed: told apart without colour
    ends = [t.text for t in root.findall(f"{SVG}text")]
    assert "Answers: 3" in ends and "Results: 0" in ends  # direct labels


def test_stacked_bars_table_legend_and_patterns() -> None:
    chart = stacked_bars(
        "st",
        "Tasks",
        "Per state",
        ["Mon", "Tue"],
        [("Open", [4, 1]), ("Resolved", [0, 3]), ("In review", [1, 1])],
        category_header="Day",
    )
    assert chart.columns == ("Day", "Open", "Resolved", "In review", "Total")
    assert chart.rows == (("Mon", "4", "0", "1", "5"), ("Tue", "1", "3", "1", "5"))
    root = ET.fromstring(str(chart.svg))  # noqa: S314
    patterns = root.findall(f"{SVG}defs/{SVG}pattern")
    assert [p.get("id") for p in patterns] == ["st-p0", "st-p1", "st-p2"]
    bars = [r for r in root.findall(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert len(bars) == 5  # a zero segment draws nothing
    legend = [t.text for t in root.findall(f"{SVG}text")]
    assert {"Open: 1", "Resolved: 3", "In review: 1"} <= set(legend)


def test_progress_bar_words_and_table_in_french() -> None:
    french = language("fr").gettext
    chart = progress_bar(
        "p", "Avancement", "Tâches faites", 1234, 2000, locale="fr", translate=french
    )
    words = [t.text for t in ET.fromstring(str(chart.svg)).iter(f"{SVG}text")]  # noqa: S314
    assert words == ["1\u202f234 sur 2\u202f000 faites (62\xa0%)"]
    assert chart.columns == ("Faites", "Total", "Part")
    assert chart.rows == (("1\u202f234", "2\u202f000", "62\xa0%"),)


def test_states_chart_from_snapshots() -> None:
    snapshots = [
        StateSnapshot(DAYS[0], {"open": 6, "resolved": 0, "collecting": 0}),
        StateSnapshot(DAYS[1], {"open": 4, "resolved": 2}, measured=False),
    ]
    chart = states_chart("states", "Tasks per state", "Over days", snapshots)
    assert chart.columns == ("Day", "Open", "Resolved", "Total")  # never-used states left out
    assert chart.rows == (("1 Mar", "6", "0", "6"), ("2 Mar", "4", "2", "6"))
    with pytest.raises(ValueError, match="chart_id"):
        progress_bar('x" onload="y', "t", "d", 1, 2)


def render(chart: Chart, code: str = "en") -> str:
    template = environment.get_template("ngo/chart.html")
    return template.render(chart=chart, **language(code).template_callables())


def test_the_partial_renders_the_svg_and_a_table_of_the_same_data() -> None:
    chart = charts()[0]
    html = render(chart)
    assert "<script>" not in html
    assert str(chart.svg) in html
    body = re.search(r"<tbody>(.*)</tbody>", html, re.S)
    assert body is not None
    assert body.group(1).count("<tr>") == len(chart.rows) == 30
    assert html.count('<th scope="col">') == len(chart.columns)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("code", ["en", "fr"])
def test_rendered_charts_pass_axe(browser: Browser, viewport: dict[str, int], code: str) -> None:
    french = language(code).gettext
    built = [
        line_chart(
            "answers",
            french("Data of the chart: %(title)s", title="x"),
            "Answers and results per day",
            DAYS,
            [("Answers", [i % 4 for i in range(30)]), ("Results", [i % 3 for i in range(30)])],
            locale=code,
            translate=french,
        ),
        states_chart(
            "states",
            "Tasks per state",
            "Tasks per state per day",
            [StateSnapshot(d, {"open": 30 - i, "resolved": i}) for i, d in enumerate(DAYS)],
            locale=code,
            translate=french,
        ),
        progress_bar("progress", "Progress", "Tasks done", 62, 100, locale=code, translate=french),
    ]
    css = "".join(p.read_text() for p in sorted(CSS.glob("*.css")))
    html = (
        f'<!doctype html><html lang="{code}"><head><meta charset="utf-8"><title>Charts</title>'
        f"<style>{css}</style></head><body><main><h1>Charts</h1>"
        + "".join(render(c, code) for c in built)
        + "</main></body></html>"
    )
    page = browser.new_page(viewport=viewport)  # type: ignore[arg-type]
    try:
        page.set_content(html)
        assert page.locator("svg[role=img]").count() == 3
        assert_accessible(page)
        # The first chart is named by its title and description.
        name = page.locator("#answers").get_attribute("aria-labelledby")
        assert name == "answers-title answers-desc"
    finally:
        page.close()
