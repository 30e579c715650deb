"""Grade a batch of submissions: find them, run their exercises, write results and the gradebook.

The grader's own process never runs student code. It extracts definitions,
checks them statically for forbidden calls, hands one job per (submission,
exercise) to a pool of workers (worker.py) and compares the plain-data
results with the references, which it computes itself.
"""

import csv
import hashlib
import io
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from . import forbidden
from .assignment import UnknownAssignment, absent, of_assignment, plan_for
from .compare import to_array
from .extract import Submission, Unreadable, read_submission
from .judge import (
    Verdict,
    broken_definition,
    judge,
    not_defined,
    ran_every_case,
    static_forbidden,
)
from .modules import case_input
from .pool import Pool, WorkerFailed, limits
from .protocol import Job
from .registry import Case, Exercise, load_all
from .secret import SecretError, hidden_seed, load_secret, secret_id

GRADEBOOK = "gradebook.csv"
SUFFIXES = (".ipynb", ".py")
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git"}


# The course's answers in source form (the chapters, the grader's references): hidden from
# sandboxed code, which gets them already imported, so `exec(inspect.getsource(...))` finds none.
PACKAGE = Path(__file__).resolve().parents[1]
COURSE_SOURCES = (str(PACKAGE / "chapters"), str(PACKAGE / "grading" / "exercises"))


Record = dict[str, Any]
"""A result file's content, as :func:`make_record` builds it."""
Expected = np.ndarray | tuple[np.ndarray | None, ...] | None
"""A case's expected value as the judge compares it (see :func:`~d2lcnn.grading.compare.to_array`)."""
Todo = tuple[Submission, list[Exercise], Path]
"""A submission still to grade: its exercises and the result file to write."""


class UsageError(Exception):
    """Bad command-line input: nothing was graded."""


class Reporter(Protocol):
    """What ``grade`` tells of its progress (:class:`~d2lcnn.grading.progress.Progress` does)."""

    def start(self, total: int) -> None: ...

    def done(self, record: Record) -> None: ...


# ---- finding submissions ------------------------------------------------------------


def collect(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[Path], list[Path]]:
    """``(files, links)``: the submission files under ``paths`` (files or folders), in a stable
    order, and the symbolic links found in those folders, which are never followed."""
    files: list[Path] = []
    links: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found, linked = _walk(path)
            files += found
            links += linked
        elif path.is_file():
            if path.suffix not in SUFFIXES:
                problems.append(
                    f"{shown(path)}: not a notebook (.ipynb) or Python file (.py); "
                    "pass student submissions or folders of them"
                )
            files.append(path)
        else:
            problems.append(f"{shown(path)}: no such file or folder; check the path")
    if problems:
        raise UsageError("\n".join(problems))
    unique = list(dict.fromkeys(p.resolve() for p in files))
    if not unique and not links:
        raise UsageError(
            f"no .ipynb or .py files in {', '.join(map(shown, paths))}; "
            "pass student submissions or folders of them"
        )
    return unique, sorted(set(links))


def _walk(folder: Path) -> tuple[list[Path], list[Path]]:
    """``(files, links)`` in ``folder``, sorted: the submission files, and the symbolic links
    (to a submission or to a folder) met on the way; hidden and cache folders are skipped."""
    files: list[Path] = []
    links: list[Path] = []
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).parts
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel):
            continue
        if _through_link(folder, p):
            if p.suffix in SUFFIXES or p.is_symlink():
                links.append(p)
        elif p.is_file() and p.suffix in SUFFIXES:
            files.append(p)
    return files, links


def _through_link(top: Path, path: Path) -> bool:
    """Whether ``path``, or a folder between ``top`` and it, is a symbolic link."""
    while path != top:
        if path.is_symlink():
            return True
        path = path.parent
    return False


def shown(path: object) -> str:
    """``path`` as printable text: bytes of a non-UTF-8 file name become U+FFFD."""
    return os.fsencode(str(path)).decode("utf-8", "replace")


def _safe_stem(path: Path) -> str:
    """A result file's stem for ``path``: its stem if plain and short, else a cleaned, cut
    stem plus a hash (file names of any bytes and length still give a valid result name)."""
    stem = shown(path.stem)
    clean = re.sub(r"[^\w.-]", "_", stem)[:80].lstrip(".") or "submission"
    if clean == stem:
        return stem
    return f"{clean}-{hashlib.sha256(os.fsencode(str(path))).hexdigest()[:8]}"


def result_names(files: Sequence[Path], records: dict[str, Record]) -> dict[Path, str]:
    """``{file: result file stem}``, stable across runs into the same folder.

    A file keeps the name its earlier result has (``records``: ``{stem: record}``);
    otherwise it gets its stem, or its stem plus a short hash of its path when
    another submission (in this batch or an earlier one) has the same stem.
    """
    earlier = {str(r.get("submission")): stem for stem, r in records.items()}
    taken = set(earlier.values()) | {"gradebook"}
    stems: dict[str, list[Path]] = {}
    for f in files:
        stems.setdefault(_safe_stem(f), []).append(f)
    names: dict[Path, str] = {}
    for f in files:
        stem = _safe_stem(f)
        if shown(f) in earlier:
            names[f] = earlier[shown(f)]
        elif len(stems[stem]) == 1 and stem not in taken:
            names[f] = stem
        else:
            names[f] = f"{stem[:80]}-{hashlib.sha256(os.fsencode(str(f))).hexdigest()[:8]}"
    return names


# ---- a batch -----------------------------------------------------------------------


@dataclass
class Batch:
    """What a run did: files graded, skipped (already graded), unreadable, symbolic links
    not followed, and submissions that broke the grader (each graded ``error``, named)."""

    graded: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    broke: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (mode 0600) so that a reader sees the old file or the whole new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o600)
    os.replace(tmp, path)


def read_records(out: Path) -> dict[str, Record]:
    """``{result stem: record}`` of the result files already in ``out``."""
    records: dict[str, Record] = {}
    for p in sorted(out.glob("*.json")):
        try:
            record = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("grader") == "d2lcnn":
            records[p.stem] = record
    return records


def write_gradebook(out: Path, records: dict[str, Record]) -> None:
    """``out/gradebook.csv``: one row per result in ``records`` (``{result stem: record}``)."""
    names = sorted({n for r in records.values() for n in r.get("exercises", {})})
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["submission", "result", "score", "max_score", *names, "problems"])
    for stem, r in sorted(records.items(), key=lambda x: shown(x[1].get("submission", ""))):
        ex = r.get("exercises", {})
        problems = "; ".join(
            f"{n}: {ex[n]['status']}" for n in names if n in ex and ex[n]["status"] != "passed"
        )
        writer.writerow(
            [
                shown(r.get("submission")),
                f"{stem}.json",
                r.get("score"),
                r.get("max_score"),
                *[ex[n]["score"] if n in ex else "" for n in names],
                problems,
            ]
        )
    _atomic_write(out / GRADEBOOK, buf.getvalue())


def grade(
    paths: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    jobs: int = 2,
    seed: str | int | None = None,
    timeout: float = 10.0,
    force: bool = False,
    exercises: list[str] | None = None,
    log: Callable[[str], None] = print,
    progress: Reporter | None = None,
    trusted_code: bool = False,
    seed_file: str | os.PathLike[str] | None = None,
    assignment: str | None = None,
) -> Batch:
    """Grade every submission under ``paths`` into ``out``; see the Grading section of README.md.

    Args:
        paths: notebooks, Python files, or folders of them.
        out: the results folder (created, private to this user).
        jobs: worker processes run in parallel.
        seed: the secret the hidden cases are drawn from; default: ``seed_file``'s content,
            else ``$D2LCNN_SEED``, else the one stored in ``out`` (a new one the first time).
        timeout: wall-clock seconds per exercise of a submission.
        force: regrade submissions whose results are up to date.
        exercises: grade these exercise names only, whatever the submission is.
        assignment: grade every exercise of this chapter (e.g. ``"02_conv_layer"``), for
            submissions that do not record theirs (see :mod:`~d2lcnn.grading.assignment`).
        log: called with one line of progress per submission.
        progress: told ``start(total)`` once planned and ``done(record)`` per submission
            (a :class:`~d2lcnn.grading.progress.Progress`).
        trusted_code: run the code without namespaces (limits only); see README.md.
        seed_file: a file holding the secret.

    Returns:
        a :class:`Batch`.

    Raises:
        UsageError: a path does not exist or is not a submission; an unknown exercise.
    """
    start = time.monotonic()
    registry = load_all()
    _check_usage(registry, exercises, assignment, jobs, timeout)
    files, links = collect(paths)
    results = _results_folder(Path(out))
    try:
        secret = load_secret(results, seed, seed_file)
    except SecretError as e:
        raise UsageError(str(e)) from None
    grader = Grader(results, secret, timeout, log)
    grader.hidden = _hidden_paths(results, paths)
    grader.batch.links = [shown(link) for link in links]
    for link in grader.batch.links:
        log(f"skipped {link}: a symbolic link (never followed)")
    # started before the files are read: the workers import torch meanwhile
    grader.pool = Pool(max(1, min(jobs, len(files))), trusted=trusted_code)
    try:
        todo = grader.plan(files, registry, exercises, force, assignment)
        grader.grade_all(todo, progress)
    finally:
        grader.pool.close()
    if not todo:  # each graded submission rewrites it; with none, it is written here
        write_gradebook(results, grader.records)
    grader.batch.seconds = time.monotonic() - start
    return grader.batch


def _check_usage(
    registry: dict[str, Exercise],
    exercises: list[str] | None,
    assignment: str | None,
    jobs: int,
    timeout: float,
) -> None:
    """Raise :class:`UsageError` for an unknown exercise or assignment or a bad number."""
    unknown = [n for n in exercises or () if n not in registry]
    if unknown:
        raise UsageError(
            f"--exercises: unknown {', '.join(unknown)}; known: {', '.join(sorted(registry))}"
        )
    if assignment:
        try:
            of_assignment(registry, assignment)
        except UnknownAssignment as e:
            raise UsageError(str(e)) from None
    if jobs < 1 or timeout <= 0:
        raise UsageError("--jobs and --timeout must be positive")


def _results_folder(out: Path) -> Path:
    """``out``, created private to this user if new; a :class:`UsageError` if it is a file."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder; pick another path")
    if not out.exists():
        out.mkdir(parents=True)
        out.chmod(0o700)  # grades are private (each file is 0600 too)
    return out


def _hidden_paths(out: Path, paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """What student code must not read: the grades, everyone's submissions, the course's answers."""
    return sorted(
        {str(out.resolve())}
        | {str(p.resolve() if p.is_dir() else p.resolve().parent) for p in map(Path, paths)}
        | set(COURSE_SOURCES)
    )


class Grader:
    """One batch: its seed, the references' values, the pool, the results written so far."""

    def __init__(self, out: Path, secret: str, timeout: float, log: Callable[[str], None]) -> None:
        self.out, self.secret, self.timeout, self.log = out, secret, timeout, log
        self.seed_id = secret_id(secret)  # the secret stays secret: results carry a hash of it
        self.batch, self.lock = Batch(), threading.Lock()
        self.expected: dict[str, tuple[list[Case], list[Expected]]] = {}
        self.limits, self.jobs = limits(timeout), iter(range(1, 1 << 62))
        self.pool: Pool
        self.hidden: list[str] = []
        self.records = read_records(out)
        self.progress: Reporter | None = None

    def plan(
        self,
        files: list[Path],
        registry: dict[str, Exercise],
        chosen: list[str] | None,
        force: bool,
        assignment: str | None = None,
    ) -> list[Todo]:
        """``[(submission, exercises, result path)]`` still to grade; the rest is skipped or unreadable."""
        names, todo = result_names(files, self.records), list[Todo]()
        for f in files:
            try:
                sub = read_submission(f)
            except Unreadable as e:
                self.batch.unreadable.append(shown(e))
                self.log(f"unreadable {shown(e)}")
                continue
            planned, target = (
                plan_for(sub, registry, chosen, assignment),
                self.out / f"{names[f]}.json",
            )
            if planned.warning:
                self.log(f"warning: {planned.warning}")
            exercises = planned.exercises
            if not force and self.up_to_date(target, sub, exercises):
                self.batch.skipped.append(f)
            else:
                todo.append((sub, exercises, target))
        return todo

    def up_to_date(self, target: Path, sub: Submission, exercises: list[Exercise]) -> bool:
        """Whether ``target`` already holds this content's result, under this secret, on these
        exercises (an unreadable or foreign file is not)."""
        try:
            old = json.loads(target.read_text())
            return (old["sha256"], old["seed_id"], sorted(old["exercises"])) == (
                sub.sha256,
                self.seed_id,
                sorted(e.name for e in exercises),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return False

    def public_cases(self, exercise: Exercise) -> tuple[list[Case], list[Expected]]:
        """The exercise's public cases and their expected values, computed once, here."""
        with self.lock:
            if exercise.name not in self.expected:
                cases = list(exercise.public_cases)
                self.expected[exercise.name] = (cases, [_expected(c, exercise) for c in cases])
            return self.expected[exercise.name]

    def hidden_cases(
        self, exercise: Exercise, sub: Submission
    ) -> tuple[list[Case], list[Expected]]:
        """This submission's hidden cases (drawn from the secret and its content), expected values."""
        gen = torch.Generator().manual_seed(hidden_seed(self.secret, sub.sha256))
        cases = list(exercise.hidden_cases(gen))
        return cases, [_expected(c, exercise) for c in cases]

    def job(self, exercise: Exercise, sub: Submission, cases: list[Case], public: bool) -> Job:
        """A worker's job: the submission's definitions and the inputs of ``cases``, no secret."""
        return Job(
            id=next(self.jobs),
            exercise=exercise.name,
            cases=tuple(case_input(c) for c in cases),
            keep_output=public,
            timeout=self.timeout,
            sources=tuple(c.to_source() for c in sub.chunks),
            limits=self.limits,
            hidden=tuple(self.hidden),
        )

    def grade_all(self, todo: list[Todo], progress: Reporter | None) -> None:
        """Grade ``todo``, one thread per worker, each submission on the next free one."""
        self.progress = progress
        if progress:
            progress.start(len(todo))
        ex = ThreadPoolExecutor(max_workers=len(self.pool.workers))
        with one_thread():
            try:
                self.batch.graded = list(ex.map(self.grade_submission, todo))
            finally:  # on Ctrl-C or a failure: finish the submissions under way, start no other
                ex.shutdown(wait=True, cancel_futures=True)

    def grade_exercise(self, sub: Submission, exercise: Exercise) -> Verdict:
        """One exercise of one submission: static checks here, then the public cases in one
        child and the hidden ones in another (only when the public child got through)."""
        hits = forbidden.scan(sub, exercise.name, forbidden.patterns_for(exercise))
        if hits:
            return static_forbidden(exercise, sub, hits[0])
        if exercise.name not in sub.defined() and exercise.name in sub.broken_defs:
            return broken_definition(exercise, sub)
        if absent(sub, exercise):  # nothing to run: the submission never mentions it
            return not_defined(exercise, sub)
        public, want = self.public_cases(exercise)
        hidden, want_hidden = self.hidden_cases(exercise, sub)
        public_reply = self.pool.execute(self.job(exercise, sub, public, True))
        hidden_reply = None
        if ran_every_case(public_reply, len(public)):
            hidden_reply = self.pool.execute(self.job(exercise, sub, hidden, False))
        return judge(
            exercise,
            public + hidden,
            want + want_hidden,
            sub,
            public_reply,
            hidden_reply,
            self.timeout,
        )

    def grade_submission(self, item: Todo) -> Path:
        """Grade one submission, write its result and the gradebook; a failure of the grader on
        it (a bug, a recursion, an odd file) becomes that submission's ``error``, named."""
        sub, exercises, target = item
        t0 = time.monotonic()
        results: dict[str, Record] = {}
        for e in exercises:
            try:
                results[e.name] = self.grade_exercise(sub, e).as_json()
            except WorkerFailed:
                raise  # the environment, not this submission: the batch stops (exit 3)
            except Exception as error:  # noqa: BLE001  (any failure stays this submission's)
                results[e.name] = grader_failed(e, error).as_json()
                self.batch.broke.append(f"{shown(sub.path)}: {e.name}: {describe(error)}")
        record = make_record(sub, exercises, results, self.seed_id, time.monotonic() - t0)
        # one result file and the gradebook after each submission: a crash loses nothing
        with self.lock:
            _atomic_write(target, json.dumps(record, indent=1) + "\n")
            self.records[target.stem] = record
            write_gradebook(self.out, self.records)
            if self.progress:
                self.progress.done(record)
        summary = ", ".join(f"{n} {r['status']}" for n, r in results.items()) or "no exercises"
        self.log(
            f"graded {shown(sub.path.name)}: {record['score']:g}/{record['max_score']:g} "
            f"({summary}) -> {target.name}"
        )
        return sub.path


@contextmanager
def one_thread() -> Iterator[None]:
    """Torch on one thread meanwhile, as in the children (isolation.py): the references then
    sum in the children's order, and the course's own answers match them to the bit (a
    normalization layer's input gradient can move by 1e-4 between two threads and one)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def describe(error: BaseException) -> str:
    """An exception in a few words: its type and the start of its message."""
    text = shown(error)[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def grader_failed(exercise: Exercise, error: BaseException) -> Verdict:
    """``error``, 0 points: the grader itself failed on this submission (never the batch)."""
    feedback = (
        f"{exercise.name}: error, 0 points. The grader failed on this submission "
        f"({describe(error)}); tell your instructor, who can send it to the course's maintainers."
    )
    return Verdict(0.0, exercise.points, "error", feedback, stopped="the grader failed")


def _expected(case: Case, exercise: Exercise) -> Expected:
    """The reference's value on ``case``, as plain arrays (a tuple of them for a tuple)."""
    value = case.call(exercise.reference)
    if isinstance(value, tuple):
        return tuple(to_array(v) for v in value)
    return to_array(value)


def make_record(
    sub: Submission,
    chosen: Sequence[Exercise],
    results: dict[str, Record],
    seed_id: str,
    seconds: float,
) -> Record:
    """The result file: ours plus Gradescope's results.json fields (score, tests, output...)."""
    score = round(sum(r["score"] for r in results.values()), 2)
    max_score = round(sum(r["max_score"] for r in results.values()), 2)
    notes = []
    if sub.syntax_errors:
        notes.append("Cells with syntax errors were skipped: " + "; ".join(sub.syntax_errors[:5]))
    if not chosen:
        names = ", ".join(sorted(load_all()))
        notes.append(f"No graded exercise found: the submission defines none of {names}.")
    output = "\n".join([f"Score: {score:g}/{max_score:g}"] + notes)
    return {
        "grader": "d2lcnn",
        "submission": shown(sub.path),
        "sha256": sub.sha256,
        "seed_id": seed_id,
        "score": score,
        "max_score": max_score,
        "exercises": {n: dict(r) for n, r in results.items()},  # Verdict.as_json
        "tests": _gradescope_tests(chosen, results),
        "execution_time": round(seconds, 3),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
    }


def _gradescope_tests(chosen: Sequence[Exercise], results: dict[str, Record]) -> list[Record]:
    """Gradescope's ``tests``: one per exercise, its feedback followed by what the code printed."""
    tests = []
    for e in chosen:
        r = results[e.name]
        text = r["feedback"] + (f"\n\nPrinted output:\n{r['output']}" if r["output"] else "")
        tests.append(
            {
                "name": e.signature,
                "score": r["score"],
                "max_score": r["max_score"],
                "status": "passed" if r["status"] == "passed" else "failed",
                "output": text,
                "visibility": "visible",
            }
        )
    return tests
