"""Charts drawn on the server as SVG, each with the table of its data (the console's figures).

A chart is a :class:`Chart`: the SVG (a ``Markup`` string, every label and number escaped) and
the same data as table columns and rows; ``ngo/chart.html`` renders both, the table for screen
readers beside the image. Three kinds, dependency-free:

- :func:`line_chart`: one or more series over days (answers and results per day); the first
  series is shaded beneath; each series has its own dash pattern and point marker and is
  labelled at its end, so no colour is needed to tell them apart;
- :func:`stacked_bars`: per category (a day, or one bar "now"), segments stacked (tasks per
  state); each segment has its own fill pattern, repeated in the legend;
  :func:`states_chart` builds it from :class:`core.insights.StateSnapshot` values;
- :func:`progress_bar`: done out of total, with the figures written beside it.

Accessibility: the ``<svg>`` is ``role="img"`` with ``aria-labelledby`` naming its ``<title>``
and ``<desc>``. CSP: no ``style=`` attribute anywhere; colours are presentation attributes
(``fill=``, ``stroke=``), text takes ``currentColor`` and web/static/css/60-ngo.css sizes it.
Strings the charts write themselves are marked with ``N_`` and translated by the ``translate``
callable the caller passes (the page's ``gettext``); titles, descriptions and series labels come
translated from the caller.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup, escape

from core.insights.models import StateSnapshot
from web.i18n import N_

__all__ = [
    "STATE_LABELS",
    "Chart",
    "line_chart",
    "progress_bar",
    "stacked_bars",
    "states_chart",
]

Translate = Callable[[str], str]

#: Task states as the console names them (core.projects.models.TASK_STATES, plus rejected).
STATE_LABELS: Mapping[str, str] = {
    "open": N_("Open"),
    "collecting": N_("Collecting answers"),
    "aggregating": N_("Being decided"),
    "in_review": N_("In review"),
    "stalled": N_("Stalled"),
    "resolved": N_("Resolved"),
    "rejected": N_("Rejected"),
    "expired": N_("Expired"),
}

# Okabe-Ito colours (told apart by most colour-blind readers), never the only cue.
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999")
_DASHES = ("", "6 4", "2 3", "10 3 2 3")
_MARKERS = ("circle", "square", "triangle", "diamond")
_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
_WIDTH = 480  # user units; the text is 15 of them: about 11 px on a 360 px phone


def _identity(message: str) -> str:
    return message


@dataclass(frozen=True, slots=True)
class Chart:
    """An SVG chart and its data as a table (``columns``, then one row per category)."""

    chart_id: str
    title: str
    description: str
    svg: Markup
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


# -- SVG writing ---------------------------------------------------------------------------------


def _attrs(attributes: Mapping[str, object]) -> str:
    parts = []
    for name, value in attributes.items():
        if value is None or value == "":
            continue
        if isinstance(value, float):
            value = f"{value:.1f}".rstrip("0").rstrip(".")
        parts.append(f' {name.rstrip("_").replace("_", "-")}="{escape(str(value))}"')
    return "".join(parts)


def _el(tag: str, content: str = "", **attributes: object) -> str:
    """One element; ``content`` must already be markup (escape text with :func:`_text`)."""
    if content:
        return f"<{tag}{_attrs(attributes)}>{content}</{tag}>"
    return f"<{tag}{_attrs(attributes)}/>"


def _text(value: object) -> str:
    return str(escape(str(value)))


def _svg(chart_id: str, title: str, description: str, height: int, body: str) -> Markup:
    head = _el("title", _text(title), id=f"{chart_id}-title") + _el(
        "desc", _text(description), id=f"{chart_id}-desc"
    )
    # Every text and attribute value above went through escape() (_el, _text): safe markup.
    return Markup(  # noqa: S704
        _el(
            "svg",
            head + body,
            xmlns="http://www.w3.org/2000/svg",
            viewBox=f"0 0 {_WIDTH} {height}",
            role="img",
            aria_labelledby=f"{chart_id}-title {chart_id}-desc",
            class_="ngo-chart-svg",
            id=chart_id,
        )
    )


def _check_id(chart_id: str) -> None:
    if not _ID.match(chart_id):
        raise ValueError("chart_id must be lower-case letters, digits and dashes")


def _number(value: float, locale: str) -> str:
    return str(format_decimal(value, locale=locale))


def _nice_max(value: float) -> float:
    """The smallest of 2, 4, 6 or 10 times a power of ten at least ``value`` (at least 2), so
    that its half, the middle grid line, is a round number."""
    if value <= 2:
        return 2
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 4, 6, 10):
        if step * power >= value and (step * power) % 2 == 0:
            return float(step * power)
    return float(10 * power)


def _grid(
    left: float, top: float, width: float, height: float, top_value: float, locale: str
) -> str:
    lines = []
    for fraction in (0.0, 0.5, 1.0):
        y = top + height - fraction * height
        lines.append(
            _el("line", x1=left, x2=left + width, y1=y, y2=y, stroke="#b8b8c4", stroke_width=1)
        )
        label = _number(top_value * fraction, locale)
        lines.append(_el("text", _text(label), x=left - 6, y=y + 4, text_anchor="end"))
    return "".join(lines)


def _x_labels(labels: Sequence[str], xs: Sequence[float], y: float, *, end: bool = False) -> str:
    """Some labels under the x axis, the last always; ``end``: the last one ends at its point
    (it would overflow the right edge if centred)."""
    n = len(labels)
    step = max(1, math.ceil(n / 4))
    return "".join(
        _el(
            "text",
            _text(labels[i]),
            x=xs[i],
            y=y,
            text_anchor="end" if end and i == n - 1 and n > 1 else "middle",
        )
        for i in range(n)
        if (n - 1 - i) % step == 0
    )


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "circle":
        return _el("circle", cx=x, cy=y, r=3, fill=colour)
    if kind == "square":
        return _el("rect", x=x - 3, y=y - 3, width=6, height=6, fill=colour)
    if kind == "triangle":
        points = f"{x:.1f},{y - 4:.1f} {x + 4:.1f},{y + 3:.1f} {x - 4:.1f},{y + 3:.1f}"
        return _el("polygon", points=points, fill=colour)
    points = f"{x:.1f},{y - 4:.1f} {x + 4:.1f},{y:.1f} {x:.1f},{y + 4:.1f} {x - 4:.1f},{y:.1f}"
    return _el("polygon", points=points, fill=colour)


def _spread(wanted: list[float], gap: float, low: float, high: float) -> list[float]:
    """End labels' heights moved apart by at least ``gap``, in order, within [low, high]."""
    order = sorted(range(len(wanted)), key=lambda i: wanted[i])
    placed = [0.0] * len(wanted)
    last = low - gap
    for i in order:
        placed[i] = max(wanted[i], last + gap)
        last = placed[i]
    overflow = last - high
    if overflow > 0:
        for i in order:
            placed[i] -= overflow
    return placed


# -- the charts ----------------------------------------------------------------------------------


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    days: Sequence[date],
    series: Sequence[tuple[str, Sequence[float]]],
    *,
    locale: str = "en",
    translate: Translate = _identity,
) -> Chart:
    """Series over days (at most four; each as long as ``days``)."""
    _check_id(chart_id)
    if not days or not 1 <= len(series) <= len(_DASHES):
        raise ValueError("a line chart needs days and one to four series")
    if any(len(values) != len(days) for _, values in series):
        raise ValueError("every series needs one value per day")
    # left: room for a y label such as "100,000" at the text size (15 units, right-aligned).
    height, left, right, top, bottom = 260, 64, 140, 16, 36
    plot_w, plot_h = _WIDTH - left - right, height - top - bottom
    top_value = _nice_max(max((max(v, default=0) for _, v in series), default=0))
    n = len(days)
    xs = [left + (i * plot_w / (n - 1) if n > 1 else plot_w / 2) for i in range(n)]

    def y_of(value: float) -> float:
        return top + plot_h - (value / top_value) * plot_h

    body = [_grid(left, top, plot_w, plot_h, top_value, locale)]
    short = [str(format_date(day, "d MMM", locale=locale)) for day in days]
    body.append(_x_labels(short, xs, height - bottom + 18))
    ends: list[float] = []
    for index, (_, values) in enumerate(series):
        colour = _COLOURS[index]
        points = " ".join(f"{x:.1f},{y_of(v):.1f}" for x, v in zip(xs, values, strict=True))
        if index == 0 and n > 1:
            floor = top + plot_h
            area = f"{xs[0]:.1f},{floor:.1f} {points} {xs[-1]:.1f},{floor:.1f}"
            body.append(_el("polygon", points=area, fill=colour, fill_opacity="0.12"))
        body.append(
            _el(
                "polyline",
                points=points,
                fill="none",
                stroke=colour,
                stroke_width=2,
                stroke_dasharray=_DASHES[index],
            )
        )
        if n <= 62:
            body.extend(
                _marker(_MARKERS[index], x, y_of(v), colour)
                for x, v in zip(xs, values, strict=True)
            )
        ends.append(y_of(values[-1]))
    for index, y in enumerate(_spread(ends, 18, top + 4, top + plot_h)):
        label, values = series[index]
        body.append(
            _marker(_MARKERS[index], xs[-1] + 12, y - 4, _COLOURS[index])
            + _el(
                "text",
                _text(f"{label}: {_number(values[-1], locale)}"),
                x=xs[-1] + 20,
                y=y,
            )
        )
    columns = (translate(N_("Day")), *(label for label, _ in series))
    rows = tuple(
        (
            str(format_date(day, "medium", locale=locale)),
            *(_number(values[i], locale) for _, values in series),
        )
        for i, day in enumerate(days)
    )
    svg = _svg(chart_id, title, description, height, "".join(body))
    return Chart(chart_id, title, description, svg, columns, rows)


def _patterns(chart_id: str, count: int) -> str:
    """One fill pattern per segment: its colour with a texture of its own (plain, hatched one
    way or the other, dotted, lined, crossed...)."""
    textures = (
        "",
        _el("path", d="M0,6 L6,0", stroke="#fff", stroke_width=1.5),
        _el("circle", cx=3, cy=3, r=1.2, fill="#fff"),
        _el("path", d="M0,3 H6", stroke="#fff", stroke_width=1.5),
        _el("path", d="M0,6 L6,0 M0,0 L6,6", stroke="#fff", stroke_width=1),
        _el("path", d="M3,0 V6", stroke="#fff", stroke_width=1.5),
        _el("path", d="M0,0 L6,6", stroke="#fff", stroke_width=1.5),
        _el("rect", x=1.5, y=1.5, width=3, height=3, fill="#fff"),
    )
    found = []
    for index in range(count):
        colour = _COLOURS[index % len(_COLOURS)]
        inner = _el("rect", width=6, height=6, fill=colour) + textures[index % len(textures)]
        found.append(
            _el(
                "pattern",
                inner,
                id=f"{chart_id}-p{index}",
                width=6,
                height=6,
                patternUnits="userSpaceOnUse",
            )
        )
    return _el("defs", "".join(found))


def stacked_bars(
    chart_id: str,
    title: str,
    description: str,
    categories: Sequence[str],
    segments: Sequence[tuple[str, Sequence[int]]],
    *,
    category_header: str,
    locale: str = "en",
    translate: Translate = _identity,
) -> Chart:
    """One bar per category, its segments stacked bottom up in the order given."""
    _check_id(chart_id)
    if not categories or not segments:
        raise ValueError("stacked bars need categories and segments")
    if any(len(values) != len(categories) for _, values in segments):
        raise ValueError("every segment needs one value per category")
    left, right, top, plot_h = 64, 12, 16, 180  # left: as the line chart's
    per_row = 2
    legend_rows = math.ceil(len(segments) / per_row)
    height = top + plot_h + 30 + legend_rows * 22 + 8
    plot_w = _WIDTH - left - right
    n = len(categories)
    totals = [sum(values[i] for _, values in segments) for i in range(n)]
    top_value = _nice_max(max(totals, default=0))
    slot = plot_w / n
    bar = max(2.0, min(48.0, slot * 0.7))
    xs = [left + slot * (i + 0.5) for i in range(n)]
    body = [_patterns(chart_id, len(segments)), _grid(left, top, plot_w, plot_h, top_value, locale)]
    for i in range(n):
        base = float(top + plot_h)
        for index, (label, values) in enumerate(segments):
            if values[i] <= 0:
                continue
            h = values[i] / top_value * plot_h
            base -= h
            hover = _el("title", _text(f"{categories[i]}, {label}: {_number(values[i], locale)}"))
            body.append(
                _el(
                    "rect",
                    hover,
                    x=xs[i] - bar / 2,
                    y=base,
                    width=bar,
                    height=h,
                    fill=f"url(#{chart_id}-p{index})",
                    stroke="#fff",
                    stroke_width=0.5,
                )
            )
    body.append(_x_labels(categories, xs, top + plot_h + 18, end=True))
    legend_top = top + plot_h + 36
    column_w = plot_w / per_row
    for index, (label, values) in enumerate(segments):
        x = left + (index % per_row) * column_w
        y = legend_top + (index // per_row) * 22
        body.append(
            _el(
                "rect",
                x=x,
                y=y - 11,
                width=14,
                height=14,
                fill=f"url(#{chart_id}-p{index})",
                stroke="currentColor",
                stroke_width=0.5,
            )
            + _el("text", _text(f"{label}: {_number(values[-1], locale)}"), x=x + 20, y=y)
        )
    columns = (category_header, *(label for label, _ in segments), translate(N_("Total")))
    rows = tuple(
        (
            categories[i],
            *(_number(values[i], locale) for _, values in segments),
            _number(totals[i], locale),
        )
        for i in range(n)
    )
    svg = _svg(chart_id, title, description, height, "".join(body))
    return Chart(chart_id, title, description, svg, columns, rows)


def states_chart(
    chart_id: str,
    title: str,
    description: str,
    snapshots: Sequence[StateSnapshot],
    *,
    locale: str = "en",
    translate: Translate = _identity,
) -> Chart:
    """Tasks per state over days (:attr:`core.insights.ProjectInsights.states_over_time`);
    states that were always empty are left out."""
    if not snapshots:
        raise ValueError("no snapshot to draw")
    states = [s for s in STATE_LABELS if any(snap.counts.get(s, 0) for snap in snapshots)]
    states += sorted(
        {s for snap in snapshots for s, n in snap.counts.items() if n} - set(STATE_LABELS)
    )
    states = states or ["open"]
    segments = [
        (translate(STATE_LABELS.get(s, s)), [snap.counts.get(s, 0) for snap in snapshots])
        for s in states
    ]
    categories = [str(format_date(snap.day, "d MMM", locale=locale)) for snap in snapshots]
    return stacked_bars(
        chart_id,
        title,
        description,
        categories,
        segments,
        category_header=translate(N_("Day")),
        locale=locale,
        translate=translate,
    )


def progress_bar(
    chart_id: str,
    title: str,
    description: str,
    done: int,
    total: int,
    *,
    locale: str = "en",
    translate: Translate = _identity,
) -> Chart:
    """``done`` out of ``total``, the figures written above the bar."""
    _check_id(chart_id)
    if done < 0 or total < 0:
        raise ValueError("done and total cannot be negative")
    share = min(1.0, done / total) if total else 0.0
    percent = str(format_percent(share, locale=locale))
    words = translate(N_("%(done)s of %(total)s done (%(percent)s)")) % {
        "done": _number(done, locale),
        "total": _number(total, locale),
        "percent": percent,
    }
    height, left, width = 64, 2, _WIDTH - 4
    body = (
        _el("text", _text(words), x=left, y=18)
        + _el(
            "rect",
            x=left,
            y=28,
            width=width,
            height=24,
            rx=6,
            fill="#f3f3f6",
            stroke="currentColor",
            stroke_width=1,
        )
        + (_el("rect", x=left, y=28, width=width * share, height=24, rx=6, fill=_COLOURS[0]))
    )
    columns = (translate(N_("Done")), translate(N_("Total")), translate(N_("Share")))
    rows = ((_number(done, locale), _number(total, locale), percent),)
    svg = _svg(chart_id, title, description, height, body)
    return Chart(chart_id, title, description, svg, columns, rows)
