"""The class report's numbers: what a grading run's result files say about the whole class.

Reads only the result JSON files of a grades folder (``d2lcnn grade --out``),
never imports torch, and tolerates what older or newer graders leave out
(per-case outcomes, diagnosed mistakes). ``report_html`` turns a
:class:`Summary` into the page; ``d2lcnn report`` calls :func:`write_report`.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# An exercise's outcome in the report: the grader's status, with "failed" split by partial credit.
OUTCOMES = ("passed", "partial", "failed", "error", "timeout", "forbidden", "missing")
REPORT = "report.html"


class ReportError(Exception):
    """A grades folder that cannot be reported on; the message says what to do."""


@dataclass
class CaseRate:
    """How many submissions passed one case of one exercise (its label only, never its inputs)."""

    index: int
    label: str
    hidden: bool
    passed: int = 0
    ran: int = 0  # submissions whose function was called on this case

    @property
    def rate(self) -> float:
        return self.passed / self.ran if self.ran else 0.0


@dataclass
class Look:
    """A submission that needs a human look, and why."""

    stem: str
    submission: str
    exercise: str
    why: str  # "forbidden", "timeout", "crash", "course copy", "similar"
    detail: str


@dataclass
class Summary:
    """Everything the report shows about one grading run."""

    folder: Path
    records: dict[str, dict]
    exercises: list[str]
    scores: list[float]  # percent of each submission's max_score
    outcomes: dict[str, Counter] = field(default_factory=dict)
    cases: dict[str, list[CaseRate]] = field(default_factory=dict)
    mistakes: dict[str, Counter] = field(default_factory=dict)
    looks: list[Look] = field(default_factory=list)


def load_records(folder: str | os.PathLike) -> dict[str, dict]:
    """``{result stem: record}`` of the d2lcnn result files in ``folder``.

    Raises:
        ReportError: ``folder`` is not a folder, or holds no d2lcnn result.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ReportError(f"{folder}: no such folder; pass the --out folder of `d2lcnn grade`")
    records = {}
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("grader") == "d2lcnn":
            records[path.stem] = record
    if not records:
        raise ReportError(
            f"{folder}: no d2lcnn result files (*.json) in it; run `d2lcnn grade ... --out {folder}` first"
        )
    return records


def outcome(result: dict) -> str:
    """An exercise result's outcome: its status, and ``partial`` for a failure with points.

    Example::

        >>> outcome({"status": "failed", "score": 2.5}), outcome({"status": "failed", "score": 0})
        ('partial', 'failed')
    """
    status = str(result.get("status", "error"))
    if status == "failed" and (result.get("score") or 0) > 0:
        return "partial"
    return status if status in OUTCOMES else "error"


def mistakes_of(result: dict) -> set[str]:
    """The mistakes the grader diagnosed in one exercise result (any of its cases), if it records them.

    Accepts a per-case ``mistake`` (text, or a dict with ``text``/``name``) and an
    exercise-level ``mistake`` or ``mistakes``; absent fields mean none.

    Example::

        >>> sorted(mistakes_of({"cases": [{"mistake": "kernel flipped"}, {"mistake": None}]}))
        ['kernel flipped']
    """
    found = []
    for case in result.get("cases") or []:
        if isinstance(case, dict):
            found.append(case.get("mistake"))
    found.append(result.get("mistake"))
    found += result.get("mistakes") or [] if isinstance(result.get("mistakes"), list) else []
    names = set()
    for m in found:
        if isinstance(m, dict):
            m = m.get("text") or m.get("name")
        if isinstance(m, str) and m.strip():
            names.add(m.strip()[:200])
    return names


def summarise(folder: str | os.PathLike, records: dict[str, dict] | None = None) -> Summary:
    """The report's numbers for the grading run in ``folder`` (similarity flags not included)."""
    records = load_records(folder) if records is None else records
    exercises: list[str] = []
    for record in records.values():
        for name in record.get("exercises", {}):
            if name not in exercises:
                exercises.append(name)
    scores = [
        100.0 * float(r.get("score") or 0) / float(r["max_score"])
        for r in records.values()
        if r.get("max_score")
    ]
    s = Summary(Path(folder), records, exercises, scores)
    for name in exercises:
        s.outcomes[name] = Counter()
        s.mistakes[name] = Counter()
        rates: dict[int, CaseRate] = {}
        labels: dict[int, Counter] = {}
        for stem, record in sorted(records.items()):
            result = record.get("exercises", {}).get(name)
            if not isinstance(result, dict):
                continue
            what = outcome(result)
            s.outcomes[name][what] += 1
            s.mistakes[name].update(mistakes_of(result))
            for i, case in enumerate(result.get("cases") or []):
                if not isinstance(case, dict) or case.get("status") == "not run":
                    continue
                rate = rates.setdefault(i, CaseRate(i, "", bool(case.get("hidden"))))
                labels.setdefault(i, Counter())[str(case.get("label", f"case {i + 1}"))] += 1
                rate.ran += 1
                rate.passed += case.get("status") == "passed"
            if what in ("forbidden", "timeout") or result.get("stopped"):
                why = what if what in ("forbidden", "timeout") else "crash"
                detail = result.get("stopped") if why == "crash" else _first_line(result)
                s.looks.append(Look(stem, str(record.get("submission")), name, why, str(detail)))
        for i, rate in rates.items():
            (label, _), *others = labels[i].most_common()
            # a hidden case drawn per submission has a label per submission: name its slot
            rate.label = label if not others else f"case {i + 1} (its inputs vary)"
        s.cases[name] = sorted(rates.values(), key=lambda r: (r.rate, r.index))
    return s


def _first_line(result: dict) -> str:
    return str(result.get("feedback", "")).splitlines()[0][:300] if result.get("feedback") else ""


@dataclass
class Change:
    """What changed for one submission between two grading runs."""

    submission: str
    before: float | None  # percent; None: not in that run
    after: float | None
    statuses: list[str]  # "corr2d: failed -> passed"


def compare(before: dict[str, dict], after: dict[str, dict]) -> list[Change]:
    """Per submission (matched by path), its score and exercise outcomes before and after.

    Example::

        >>> a = {"x": {"submission": "a.py", "score": 5, "max_score": 10,
        ...            "exercises": {"corr2d": {"status": "failed", "score": 5}}}}
        >>> b = {"x": {"submission": "a.py", "score": 10, "max_score": 10,
        ...            "exercises": {"corr2d": {"status": "passed", "score": 10}}}}
        >>> compare(a, b)[0].statuses
        ['corr2d: partial -> passed']
    """

    def by_path(records: dict[str, dict]) -> dict[str, dict]:
        return {str(r.get("submission")): r for r in records.values()}

    old, new = by_path(before), by_path(after)
    changes = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path), new.get(path)
        ea, eb = (a or {}).get("exercises", {}), (b or {}).get("exercises", {})
        statuses = [
            f"{n}: {outcome(ea[n]) if n in ea else 'not graded'} -> "
            f"{outcome(eb[n]) if n in eb else 'not graded'}"
            for n in dict.fromkeys([*ea, *eb])
            if (outcome(ea[n]) if n in ea else None) != (outcome(eb[n]) if n in eb else None)
        ]
        pa, pb = _percent(a), _percent(b)
        if statuses or pa != pb:
            changes.append(Change(path, pa, pb, statuses))
    return changes


def _percent(record: dict | None) -> float | None:
    if not record or not record.get("max_score"):
        return None
    return round(100.0 * float(record.get("score") or 0) / float(record["max_score"]), 2)


def text_summary(s: Summary, path: Path, seconds: float) -> str:
    """The few lines ``d2lcnn report`` prints."""
    lines = [
        f"{len(s.records)} submissions; score mean {statistics.fmean(s.scores):.1f}%, "
        f"median {statistics.median(s.scores):.1f}%"
        if s.scores
        else f"{len(s.records)} submissions; no exercise graded"
    ]
    for name in s.exercises:
        counts = s.outcomes[name]
        parts = ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts[o])
        hardest = next((c for c in s.cases.get(name, []) if c.ran), None)
        hard = (
            f"; hardest case: {hardest.label} ({hardest.rate:.0%})"
            if hardest and hardest.rate < 1
            else ""
        )
        lines.append(f"  {name}: {parts}{hard}")
    looked = len({look.stem for look in s.looks})
    kinds = Counter(look.why for look in s.looks)
    lines.append(
        f"needs a look: {looked} submission(s): "
        + (", ".join(f"{n} {why}" for why, n in kinds.most_common()) or "none")
    )
    lines.append(f"report: {path} ({seconds:.1f} s)")
    return "\n".join(lines)


def write_report(
    folder: str | os.PathLike,
    compare_with: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
) -> tuple[Path, str]:
    """Write the HTML report of the grading run in ``folder``; return its path and the text summary.

    Args:
        folder: the ``--out`` folder of ``d2lcnn grade``.
        compare_with: another grading run's folder (an earlier one) to show what changed.
        out: where to write the page (default ``folder/report.html``).

    Raises:
        ReportError: a folder holds no result files.
    """
    from . import similarity
    from .report_html import render

    start = time.monotonic()
    s = summarise(folder)
    prints = similarity.from_records(s.records, s.exercises)
    flags = similarity.analyse(prints, similarity.course_fingerprints(s.exercises))
    for exercise, fp, sim in flags.course_copies:
        s.looks.append(
            Look(
                fp.owner,
                str(s.records[fp.owner].get("submission")),
                exercise,
                "course copy",
                f"{sim:.0%} like the course package's own {exercise}",
            )
        )
    for k, cluster in enumerate(flags.clusters, 1):
        for fp in cluster.members:
            s.looks.append(
                Look(
                    fp.owner,
                    str(s.records[fp.owner].get("submission")),
                    cluster.exercise,
                    "similar",
                    f"cluster {k} ({len(cluster.members)} submissions)",
                )
            )
    changes = None
    if compare_with is not None:
        changes = (Path(compare_with), compare(load_records(compare_with), s.records))
    page = render(s, flags, changes)
    path = Path(out) if out else Path(folder) / REPORT
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.chmod(0o600)  # grades are private
    os.replace(tmp, path)
    return path, text_summary(s, path, time.monotonic() - start)
