"""The class report as one self-contained HTML page: figures inline, no script, no network.

Every figure sits in a ``<figure id="fig-...">`` beside a table of the numbers it
draws, so the page reads without images too and tests can check the counts.
Everything a student wrote (file names, code) is escaped.
"""

from __future__ import annotations

import datetime
import statistics
from collections import Counter
from collections.abc import Sequence
from html import escape
from pathlib import Path

from . import report_figures as figs
from .report import OUTCOMES, Change, Summary
from .similarity import THRESHOLD, Findings, Fingerprint

MATRIX = 8  # clusters up to this size show every pairwise similarity

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; } td, th { padding: 2px 8px; text-align: left; }
tr:nth-child(even) { background: #f5f5f5; } th { background: #e8e8e8; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; } img { max-width: 100%; }
.side { display: flex; gap: 1em; } .side pre { flex: 1; overflow-x: auto; background: #f7f7f7;
  padding: .5em; font-size: 12px; margin: 0; }
details { margin: .3em 0 .8em; } summary { cursor: pointer; }
nav a { margin-right: 1em; } .muted { color: #777; }
"""


def _table(head: list[str], rows: Sequence[Sequence[object]], ident: str = "") -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{v}</td>'
            if isinstance(v, (int, float))
            else f"<td>{escape(str(v))}</td>"
            for v in row
        )
        + "</tr>"
        for row in rows
    )
    attr = f' id="{escape(ident)}"' if ident else ""
    return f"<table{attr}><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _figure(ident: str, uri: str, caption: str) -> str:
    return (
        f'<figure id="{escape(ident)}"><img src="{uri}" alt="{escape(caption)}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _side_by_side(titles: list[str], sources: list[str]) -> str:
    cols = "".join(
        f"<pre><b>{escape(t)}</b>\n\n{escape(src)}</pre>" for t, src in zip(titles, sources)
    )
    return f'<div class="side">{cols}</div>'


def _anchor(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)


def _scores(s: Summary) -> str:
    bins = [0] * 10
    for v in s.scores:
        bins[min(9, int(v // 10))] += 1
    rows = [[f"{10 * i}-{10 * i + 10}%", n] for i, n in enumerate(bins)]
    return (
        '<h2 id="scores">Scores</h2>'
        + _figure("fig-scores", figs.score_histogram(s.scores), "Score distribution of the class")
        + "<details><summary>the numbers</summary>"
        + _table(["score", "submissions"], rows, "table-scores")
        + "</details>"
    )


def _outcomes(s: Summary) -> str:
    rows = [[n, *(s.outcomes[n][o] for o in OUTCOMES)] for n in s.exercises]
    return (
        '<h2 id="exercises">Exercises</h2><p>partial: failed some cases, with partial credit.</p>'
        + _figure(
            "fig-outcomes",
            figs.outcome_bars(s.exercises, s.outcomes, OUTCOMES),
            "Outcome of every exercise across the class",
        )
        + _table(["exercise", *OUTCOMES], rows, "table-outcomes")
    )


def _cases(s: Summary) -> str:
    parts = [
        '<h2 id="cases">Cases, hardest first</h2><p>Labels only: hidden inputs stay hidden. '
        "A case counts the submissions whose function was called on it.</p>"
    ]
    for name in s.exercises:
        rates = s.cases.get(name) or []
        if not rates:
            continue
        parts.append(f'<h3 id="cases-{_anchor(name)}">{escape(name)}</h3>')
        parts.append(
            _figure(
                f"fig-cases-{_anchor(name)}",
                figs.case_rates(
                    [c.label for c in rates], [c.rate for c in rates], [c.hidden for c in rates]
                ),
                f"{name}: share of submissions passing each case",
            )
        )
        rows = [
            [c.label, "hidden" if c.hidden else "public", c.passed, c.ran, f"{c.rate:.0%}"]
            for c in rates
        ]
        parts.append(
            "<details><summary>the numbers</summary>"
            + _table(["case", "", "passed", "ran", "rate"], rows, f"table-cases-{_anchor(name)}")
            + "</details>"
        )
    if len(parts) == 1:
        parts.append('<p class="muted">These results record no per-case outcomes.</p>')
    return "".join(parts)


def _mistakes(s: Summary) -> str:
    rows = [
        [name, mistake, n]
        for name in s.exercises
        for mistake, n in s.mistakes.get(name, Counter()).most_common(5)
    ]
    body = (
        _table(["exercise", "mistake the grader recognised", "submissions"], rows, "table-mistakes")
        if rows
        else '<p class="muted">The grader recorded no diagnosed mistake in these results.</p>'
    )
    return '<h2 id="mistakes">Most common mistakes</h2>' + body


def _looks(s: Summary) -> str:
    rows = [[lk.submission, lk.exercise, lk.why, lk.detail] for lk in s.looks]
    body = (
        _table(["submission", "exercise", "why", "detail"], rows, "table-looks")
        if rows
        else "<p>Nothing.</p>"
    )
    return (
        '<h2 id="looks">Needs a human look</h2><p>Forbidden calls, timeouts, crashes, copies of '
        "the course's own code and near-identical submissions. Flags never change a score.</p>"
        + body
    )


def _similarity(s: Summary, flags: Findings) -> str:
    parts = [
        '<h2 id="similarity">Similarity</h2><p>Each exercise function is compared with '
        "names, comments, docstrings, formatting and the order of independent statements "
        f"ignored; flagged from a similarity of {THRESHOLD:.0%}. A function that equals the "
        "course's own is also the book's listing when the course took it from the book.</p>"
    ]
    if any(flags.nearest.values()):
        parts.append(
            _figure(
                "fig-similarity",
                figs.nearest_similarity(flags.nearest, THRESHOLD),
                "Similarity of each submission to its nearest classmate, per exercise",
            )
        )
    from .similarity import course_source

    parts.append("<h3>Copies of the course package's implementation</h3>")
    if not flags.course_copies:
        parts.append("<p>None.</p>")
    by_exercise: dict[str, list[tuple[Fingerprint, float]]] = {}
    for exercise, fp, sim in flags.course_copies:
        by_exercise.setdefault(exercise, []).append((fp, sim))
    for exercise, copies in by_exercise.items():
        rows = [
            [str(s.records[fp.owner].get("submission", fp.owner)), f"{sim:.0%}"]
            for fp, sim in copies
        ]
        first = copies[0][0]
        parts.append(
            f"<h4>{escape(exercise)}: {len(copies)} submission(s)</h4>"
            + _table(["submission", "similarity to the course's"], rows)
            + f"<details><summary>side by side: {escape(rows[0][0])} and d2lcnn.{escape(exercise)}"
            + "</summary>"
            + _side_by_side(
                [rows[0][0], f"d2lcnn.{exercise}"], [first.source, course_source(exercise) or ""]
            )
            + "</details>"
        )
    parts.append("<h3>Clusters of near-identical functions</h3>")
    if not flags.clusters:
        parts.append("<p>None.</p>")
    for k, cluster in enumerate(flags.clusters, 1):
        names = [str(s.records[m.owner].get("submission", m.owner)) for m in cluster.members]
        if len(names) <= MATRIX:
            head = ["submission", *(f"#{i + 1}" for i in range(len(names)))]
            rows = [
                [f"#{i + 1} {names[i]}", *(f"{v:.2f}" for v in cluster.similarity[i])]
                for i in range(len(names))
            ]
        else:  # a big cluster: each member's similarity to the first
            head = ["submission", f"similarity to {names[0]}"]
            rows = [[names[i], f"{cluster.similarity[0][i]:.2f}"] for i in range(len(names))]
        parts.append(
            f'<h4 id="cluster-{k}">cluster {k}, {escape(cluster.exercise)}: {len(names)} '
            f"submissions, similarity at least {cluster.lowest:.0%}</h4>"
            + _table(head, rows)
            + "<details><summary>side by side</summary>"
            + _side_by_side(names[:3], [m.source for m in cluster.members[:3]])
            + "</details>"
        )
    return "".join(parts)


def _changes(changes: tuple[Path, list[Change]]) -> str:
    folder, items = changes
    pairs = [(c.before, c.after) for c in items if c.before is not None and c.after is not None]
    rows = [
        [
            c.submission,
            "new" if c.before is None else f"{c.before:g}%",
            "gone" if c.after is None else f"{c.after:g}%",
            "; ".join(c.statuses),
        ]
        for c in sorted(items, key=lambda c: -abs((c.after or 0) - (c.before or 0)))
    ]
    return (
        f'<h2 id="changes">What changed since {escape(str(folder))}</h2>'
        + (
            _figure("fig-changes", figs.score_changes(pairs), "Scores before and after")
            if pairs
            else ""
        )
        + (
            _table(["submission", "before", "after", "exercises"], rows, "table-changes")
            if rows
            else "<p>Nothing changed.</p>"
        )
    )


def render(s: Summary, flags: Findings, changes: tuple[Path, list[Change]] | None) -> str:
    """The whole page."""
    mean = f"{statistics.fmean(s.scores):.1f}%" if s.scores else "-"
    median = f"{statistics.median(s.scores):.1f}%" if s.scores else "-"
    nav = ["scores", "exercises", "cases", "mistakes", "looks", "similarity"]
    nav += ["changes"] if changes else []
    sections = [
        _scores(s),
        _outcomes(s),
        _cases(s),
        _mistakes(s),
        _looks(s),
        _similarity(s, flags),
    ]
    if changes:
        sections.append(_changes(changes))
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Class report: {escape(str(s.folder))}</title><style>{STYLE}</style></head><body>"
        f"<h1>Class report</h1><p>{len(s.records)} submissions graded in "
        f"<code>{escape(str(s.folder))}</code>; score mean {mean}, median {median}. "
        f'<span class="muted">Written {when} by d2lcnn report.</span></p>'
        "<nav>"
        + "".join(f'<a href="#{n}">{n}</a>' for n in nav)
        + "</nav>"
        + "".join(sections)
        + "</body></html>\n"
    )
