"""The class report's figures, drawn with matplotlib (no pyplot, no display) as embeddable SVGs."""

from __future__ import annotations

import base64
import io
from collections import Counter

from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

# One colour per outcome, the same in every figure (colour-blind safe, ordered good to bad).
COLOURS = {
    "passed": "#1b9e77",
    "partial": "#a6d854",
    "failed": "#e6ab02",
    "error": "#d95f02",
    "timeout": "#7570b3",
    "forbidden": "#e7298a",
    "missing": "#bbbbbb",
}


def svg(fig: Figure) -> str:
    """The figure as a ``data:`` URI of an SVG, to embed in a page that opens offline.

    Text stays text (the browser's sans-serif font): smaller and faster than a PNG.

    Example::

        >>> svg(Figure(figsize=(1, 1))).startswith("data:image/svg+xml;base64,")
        True
    """
    FigureCanvasSVG(fig)
    buf = io.BytesIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "d2lcnn"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def score_histogram(scores: list[float]) -> str:
    """Histogram of the class's scores in percent, 10 bins from 0 to 100."""
    fig = Figure(figsize=(6, 2.6))
    ax = fig.add_subplot()
    ax.hist(scores, bins=[i * 10 for i in range(11)], color="#4c72b0", edgecolor="white")
    ax.set_xlabel("score (% of the submission's maximum)")
    ax.set_ylabel("submissions")
    ax.set_xlim(0, 100)
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.2, top=0.95)
    return svg(fig)


def outcome_bars(exercises: list[str], outcomes: dict[str, Counter], order: tuple) -> str:
    """Per exercise, one horizontal bar stacked by outcome (passed, partial, ... missing)."""
    fig = Figure(figsize=(7, 0.8 + 0.32 * len(exercises)))
    ax = fig.add_subplot()
    rows = list(reversed(exercises))
    left = [0] * len(rows)
    for what in order:
        widths = [outcomes[n][what] for n in rows]
        ax.barh(rows, widths, left=left, color=COLOURS[what], label=what, height=0.7)
        left = [a + b for a, b in zip(left, widths)]
    ax.set_xlabel("submissions")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.tick_params(axis="y", labelsize=8)
    fig.subplots_adjust(
        left=0.28, right=0.82, bottom=0.5 / fig.get_figheight(), top=1 - 0.4 / fig.get_figheight()
    )
    return svg(fig)


def case_rates(labels: list[str], rates: list[float], hidden: list[bool]) -> str:
    """One exercise: each case's pass rate, hardest first; hidden cases in a darker colour."""
    fig = Figure(figsize=(6, 0.6 + 0.24 * len(labels)))
    ax = fig.add_subplot()
    rows = list(range(len(labels)))[::-1]
    ax.barh(
        rows,
        [100 * r for r in rates],
        color=["#3b528b" if h else "#5ec962" for h in hidden],
        height=0.7,
    )
    ax.set_yticks(rows, [f"{lab} (hidden)" if h else lab for lab, h in zip(labels, hidden)])
    ax.tick_params(axis="y", labelsize=7)
    ax.set_xlim(0, 100)
    ax.set_xlabel("submissions that pass it (%)")
    fig.subplots_adjust(left=0.45, right=0.97, bottom=0.5 / fig.get_figheight(), top=0.97)
    return svg(fig)


def nearest_similarity(nearest: dict[str, list[float]], threshold: float) -> str:
    """Per exercise, each submission's similarity to its nearest classmate; the flag threshold."""
    names = [n for n in sorted(nearest) if nearest[n]]
    fig = Figure(figsize=(6, 0.8 + 0.3 * max(1, len(names))))
    ax = fig.add_subplot()
    for row, name in enumerate(names):
        values = nearest[name]
        ax.scatter(values, [row] * len(values), s=12, alpha=0.5, color="#4c72b0")
    ax.axvline(threshold, color="#e7298a", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(names)), names)
    ax.tick_params(axis="y", labelsize=8)
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("similarity to the nearest other submission (dashed: flagged from here)")
    fig.subplots_adjust(left=0.3, right=0.97, bottom=0.6 / fig.get_figheight(), top=0.97)
    return svg(fig)


def score_changes(pairs: list[tuple[float, float]]) -> str:
    """Two runs: each submission's score before (x) and after (y)."""
    fig = Figure(figsize=(3.6, 3.6))
    ax = fig.add_subplot()
    ax.plot([0, 100], [0, 100], color="#bbbbbb", linewidth=1)
    ax.scatter([a for a, _ in pairs], [b for _, b in pairs], s=14, alpha=0.6, color="#4c72b0")
    ax.set_xlim(-2, 102)
    ax.set_ylim(-2, 102)
    ax.set_xlabel("before (%)")
    ax.set_ylabel("after (%)")
    fig.subplots_adjust(left=0.18, right=0.95, bottom=0.15, top=0.95)
    return svg(fig)
