"""Grade a batch of submissions: find them, run their exercises, write results and the gradebook.

The grader's own process never runs student code. It extracts definitions,
checks them statically for forbidden calls, hands one job per (submission,
exercise) to a pool of workers (worker.py) and compares the plain-data
results with the references, which it computes itself.
"""
import base64
import csv
import hashlib
import io
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import forbidden
from .compare import Received, compare, to_array
from .extract import Unreadable, read_submission
from .registry import load_all

OUTPUT_SHOWN = 2000          # characters of printed output put into the feedback
SEED_FILE = ".grading-seed"
GRADEBOOK = "gradebook.csv"
SUFFIXES = (".ipynb", ".py")
SKIP_DIRS = {".ipynb_checkpoints", "__pycache__", ".git"}
STATUSES = ("passed", "failed", "error", "timeout", "forbidden", "missing")


class UsageError(Exception):
    """Bad command-line input: nothing was graded."""


# ---- finding submissions ------------------------------------------------------------

def collect(paths):
    """The submission files under ``paths`` (files or folders), in a stable order."""
    files, problems = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                rel = p.relative_to(path).parts
                if p.is_file() and p.suffix in SUFFIXES and not any(
                        part in SKIP_DIRS or part.startswith(".") for part in rel):
                    files.append(p)
        elif path.is_file():
            if path.suffix not in SUFFIXES:
                problems.append(f"{path}: not a notebook (.ipynb) or Python file (.py); "
                                "pass student submissions or folders of them")
            files.append(path)
        else:
            problems.append(f"{path}: no such file or folder; check the path")
    if problems:
        raise UsageError("\n".join(problems))
    unique = list(dict.fromkeys(p.resolve() for p in files))
    if not unique:
        raise UsageError(f"no .ipynb or .py files in {', '.join(map(str, paths))}; "
                         "pass student submissions or folders of them")
    return unique


def result_names(files, out):
    """``{file: result file stem}``, stable across runs into the same ``out``.

    A file keeps the name its earlier result has; otherwise it gets its stem,
    or its stem plus a short hash of its path when another submission (in
    this batch or an earlier one) has the same stem.
    """
    earlier = {}
    for p in Path(out).glob("*.json"):
        try:
            earlier[json.loads(p.read_text())["submission"]] = p.stem
        except (OSError, ValueError, KeyError, TypeError):
            pass
    taken = set(earlier.values()) | {"gradebook"}
    stems = {}
    for f in files:
        stems.setdefault(f.stem, []).append(f)
    names = {}
    for f in files:
        if str(f) in earlier:
            names[f] = earlier[str(f)]
        elif len(stems[f.stem]) == 1 and f.stem not in taken:
            names[f] = f.stem
        else:
            names[f] = f"{f.stem}-{hashlib.sha256(str(f).encode()).hexdigest()[:8]}"
    return names


# ---- the worker pool ------------------------------------------------------------------

class Worker:
    """One ``python -m d2lcnn.grading.worker`` process; it imports torch while the grader reads files."""

    def __init__(self, slot):
        self.slot, self.proc, self.ready = slot, None, False

    def start(self):
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
        self.proc = subprocess.Popen([sys.executable, "-m", "d2lcnn.grading.worker", str(self.slot)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.ready = False

    def run(self, job):
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        try:
            if not self.ready:
                if b"ready" not in self.proc.stdout.readline():
                    raise RuntimeError(f"grading worker {self.slot} failed to start (see the error above)")
                self.ready = True
            self.proc.stdin.write((json.dumps(job) + "\n").encode())
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            if line:
                return json.loads(line)
        except (BrokenPipeError, ValueError):
            pass
        self.stop()
        return {"id": job["id"], "worker_error": "the grading worker died"}

    def stop(self):
        if self.proc is not None and not self.ready:  # never used: no need to let it finish importing
            self.proc.kill()
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


class Pool:
    """``n`` workers; ``run(job)`` from any thread uses a free one."""

    def __init__(self, n):
        self.free = queue.Queue()
        self.workers = [Worker(slot) for slot in range(n)]
        for w in self.workers:
            w.start()  # importing torch takes seconds: start now, wait at the first job
            self.free.put(w)

    def run(self, job):
        worker = self.free.get()
        try:
            return worker.run(job)
        finally:
            self.free.put(worker)

    def close(self):
        for w in self.workers:
            w.stop()


# ---- judging one exercise -------------------------------------------------------------

def limits(timeout, memory_mib=2048):
    """Resource limits for one job: CPU seconds, address space on top of what the worker maps
    (torch alone maps about 3 GiB of virtual memory), file size, processes."""
    return {"cpu_s": int(timeout) + 1, "extra_as_bytes": memory_mib * 2**20,
            "fsize_bytes": 16 * 2**20, "nproc": 64}


def decode(value):
    """A child's encoded value as a float64 array, a tuple of them, or :class:`Received`."""
    if not isinstance(value, dict):
        return Received("unreadable result")
    if value.get("kind") == "tuple" and isinstance(value.get("items"), list):
        return tuple(decode(v) for v in value["items"])
    if value.get("kind") == "number" and isinstance(value.get("value"), (int, float)) \
            and not isinstance(value.get("value"), bool):
        return Tensor(np.array(float(value["value"])), type(value["value"]).__name__)
    if value.get("kind") == "tensor":
        try:
            shape = tuple(int(d) for d in value["shape"])
            data = np.frombuffer(base64.b64decode(value["data"], validate=True), dtype="<f8")
            if len(shape) > 16 or any(d < 0 for d in shape) or int(np.prod(shape)) != data.size:
                raise ValueError
            return Tensor(data.reshape(shape), str(value.get("dtype", "?"))[:40])
        except (KeyError, TypeError, ValueError):
            return Received("unreadable tensor")
    return Received(str(value.get("type", "unknown"))[:120])


class Tensor(np.ndarray):
    """A received tensor: its float64 values, and the dtype the student's tensor had."""

    def __new__(cls, array, dtype_name):
        obj = np.asarray(array).view(cls)
        obj.dtype_name = dtype_name
        return obj

    def __array_finalize__(self, obj):
        self.dtype_name = getattr(obj, "dtype_name", "?")


def _where(submission, frames):
    if not frames:
        return ""
    try:
        filename, lineno = str(frames[-1][0])[:40], int(frames[-1][1])
    except (TypeError, ValueError, IndexError):
        return ""
    line = submission.line(filename, lineno)[:120]
    return f" ({filename}, line {lineno}" + (f": `{line}`" if line else "") + ")"


def _error_text(submission, error, hidden=False):
    """The exception, where the student's code raised it; a hidden case's message stays hidden
    (it could spell out the case's inputs)."""
    if not isinstance(error, dict):
        return "raised an exception"
    kind, message = str(error.get("type", "Exception"))[:80], str(error.get("message", ""))[:300]
    where = _where(submission, error.get("frames"))
    if hidden and kind != "NotImplementedError":
        return f"raised {kind}{where} (a hidden case: its message is not shown)"
    if kind == "NotImplementedError" and not message:
        return f"not implemented yet: replace `raise NotImplementedError()` with your code{where}"
    return f"raised {kind}: {message}{where}" if message else f"raised {kind}{where}"


def _output(reply):
    text = reply.get("output", "")
    if not text:
        return ""
    shown = text[:OUTPUT_SHOWN]
    more = max(0, reply.get("output_bytes", 0) - len(shown.encode("utf-8", "replace")))
    return shown + (f"\n... ({more} more bytes of output not shown)" if more else "")


def judge(exercise, cases, expected, submission, reply):
    """``{score, max_score, status, feedback, output}`` of one exercise from the worker's reply."""
    points, n, name = exercise.points, len(cases), exercise.name
    n_public = len(exercise.public_cases)
    lines, result = [], {"score": 0.0, "max_score": points, "output": _output(reply)}
    if "worker_error" in reply:
        return dict(result, status="error", feedback=f"{name}: the grader failed ({reply['worker_error']}); "
                    "tell your instructor.")
    messages = reply.get("messages", [])
    hits = [str(m["forbidden"])[:200] for m in messages if "forbidden" in m]
    if hits:
        return dict(result, status="forbidden", feedback=forbidden_feedback(name, hits[0]))
    load_errors = [m["load_error"] for m in messages if "load_error" in m]
    setup = [f"  while loading your definitions: {_error_text(submission, e)}" for e in load_errors[:5]]
    if any(m.get("missing") for m in messages):
        return dict(result, status="missing", feedback="\n".join([missing_feedback(exercise, submission)] + setup))
    bad = next((m["not_callable"] for m in messages if "not_callable" in m), None)
    if bad:
        return dict(result, status="error", feedback=f"{name} is a {bad}, not a function: "
                    f"define it as `def {exercise.signature}:`.")
    got = {}
    for m in messages:
        case = m.get("case")
        if isinstance(case, int) and 0 <= case < n and case not in got:
            got[case] = m
    passed, errors = 0, 0
    for i, case in enumerate(cases):
        m = got.get(i)
        if m is None:
            break
        if "error" in m:
            errors += 1
            lines.append(f"  x  {case.label}: {_error_text(submission, m['error'], i >= n_public)}")
            continue
        value = decode(m.get("value"))
        ok, message = compare(expected[i], value, exercise.rtol, exercise.atol)
        if not ok and isinstance(value, Tensor) and _fractional(expected[i]) \
                and value.dtype_name.split(".")[-1].startswith(("int", "uint", "bool")):
            message += f" (your tensor has dtype {value.dtype_name}: integers drop the fractions)"
        passed += ok
        lines.append(f"  {'ok' if ok else 'x '} {case.label}" + ("" if ok else f": {message}"))
    done = len([i for i in range(n) if i in got])
    status = "passed" if passed == n else "failed"
    if done < n:
        label = cases[done].label
        signal_name = reply.get("signal")
        if reply.get("timed_out") or signal_name == "SIGXCPU":
            status = "timeout"
            why = f"did not finish within the time limit of {reply.get('timeout', '?')} s (an endless loop?)"
        elif signal_name:
            status = "error"
            why = f"crashed the process ({signal_name})"
        elif reply.get("results_truncated"):
            status = "error"
            why = "returned more data than the grader reads"
        else:
            status = "error"
            why = (f"ended the process (exit code {reply.get('exit_code')}); "
                   "does your code call exit(), sys.exit() or os._exit()?")
        lines.append(f"  x  {label}: {why}; the {n - done - 1} case(s) after it were not run" if n - done > 1
                     else f"  x  {label}: {why}")
    elif errors and status != "passed":
        status = "error"
    lines = _group(lines)
    if status == "passed":
        setup = []  # a failed `X = data[0]` elsewhere did not matter
    score = round(points * passed / n, 2) if n else 0.0
    head = f"{name}: {passed}/{n} cases passed ({score:g}/{points:g} points)."
    if status != "passed":
        head += " Case labels only; hidden cases' inputs and printed output are not shown."
    return dict(result, score=score, status=status, feedback="\n".join([head] + lines + setup))


def _fractional(expected):
    """Whether the expected values have fractions (then an integer result cannot match)."""
    arr = expected if isinstance(expected, np.ndarray) else None
    return arr is not None and bool(np.any(np.isfinite(arr) & (arr != np.round(arr))))


def _group(lines):
    """Runs of failed cases with the same message become one line: ``x  a, b and 3 more: message``."""
    groups = []
    for line in lines:
        label, sep, message = line.partition(": ")
        if sep and line.startswith("  x") and groups and groups[-1][0] and groups[-1][2] == message:
            groups[-1][1].append(label[5:])
        else:
            groups.append((sep and line.startswith("  x"), [label[5:] if line.startswith("  x") else label],
                           message, line))
    out = []
    for failed, labels, message, line in groups:
        if not failed or len(labels) == 1:
            out.append(line)
        else:
            names = ", ".join(labels[:2]) + (f" and {len(labels) - 2} more" if len(labels) > 2 else "")
            out.append(f"  x  {names}: {message}")
    return out


ALLOWED = "indexing, slicing, Tensor.unfold, einsum, matmul and reductions"


def forbidden_feedback(name, what):
    if what.startswith(("d2lcnn", "the grader", f"{name} is the course")):
        return (f"{name}: forbidden, 0 points. It uses the course package's own answer ({what}); "
                f"write {name} yourself.")
    return (f"{name}: forbidden, 0 points. It uses {what}, the library function this exercise "
            f"teaches you to write yourself. Use {ALLOWED} instead.")


def missing_feedback(exercise, submission):
    name = exercise.name
    if name in submission.broken_defs:
        return f"{name}: not graded, its cell has a syntax error: {submission.broken_defs[name]}."
    return (f"{name}: not found. Define `def {exercise.signature}:` at the top level of a cell "
            "(not inside another function or an `if`).")


# ---- a batch --------------------------------------------------------------------------

@dataclass
class Batch:
    """What a run did: files graded, skipped (already graded) and unreadable."""
    graded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    unreadable: list = field(default_factory=list)
    seconds: float = 0.0


def exercises_for(submission, registry, chosen=None):
    """The exercises a submission is graded on: ``chosen``, else its notebook's, else those it defines."""
    if chosen:
        return [registry[n] for n in chosen]
    if submission.notebook:
        of_notebook = [e for e in registry.values() if e.notebook == submission.notebook]
        if of_notebook:
            return of_notebook
    defined = submission.defined() | set(submission.broken_defs)
    return [e for e in registry.values() if e.name in defined]


def load_seed(out, seed):
    """The batch's seed: ``seed``, else the one stored in ``out``, else a new secret one (stored)."""
    path = out / SEED_FILE
    if seed is None:
        if path.exists():
            seed = int(path.read_text().strip())
        else:
            seed = secrets.randbits(62)
            path.write_text(f"{seed}\n")
            path.chmod(0o600)
    return seed


def _atomic_write(path, text):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_gradebook(out):
    """``out/gradebook.csv`` from every result file in ``out``: one row per submission."""
    records = []
    for p in sorted(out.glob("*.json")):
        try:
            record = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("grader") == "d2lcnn":
            records.append((p.stem, record))
    names = sorted({n for _, r in records for n in r.get("exercises", {})})
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["submission", "result", "score", "max_score", *names, "problems"])
    for stem, r in sorted(records, key=lambda x: x[1].get("submission", "")):
        ex = r.get("exercises", {})
        problems = "; ".join(f"{n}: {ex[n]['status']}" for n in names if n in ex and ex[n]["status"] != "passed")
        writer.writerow([r.get("submission"), f"{stem}.json", r.get("score"), r.get("max_score"),
                         *[ex[n]["score"] if n in ex else "" for n in names], problems])
    _atomic_write(out / GRADEBOOK, buf.getvalue())


def grade(paths, out, jobs=2, seed=None, timeout=10.0, force=False, exercises=None, log=print):
    """Grade every submission under ``paths`` into ``out``; see docs/grading.md.

    Args:
        paths: notebooks, Python files, or folders of them.
        out: the results folder (created, private to this user).
        jobs: worker processes run in parallel.
        seed: the hidden cases' seed; default: stored in ``out`` (a new secret one the first time).
        timeout: wall-clock seconds per exercise of a submission.
        force: regrade submissions whose results are up to date.
        exercises: grade these exercise names only, whatever the submission is.
        log: called with one line of progress per submission.

    Returns:
        a :class:`Batch`.

    Raises:
        UsageError: a path does not exist or is not a submission; an unknown exercise.
    """
    start = time.monotonic()
    registry = load_all()
    if exercises:
        unknown = [n for n in exercises if n not in registry]
        if unknown:
            raise UsageError(f"--exercises: unknown {', '.join(unknown)}; known: {', '.join(sorted(registry))}")
    if jobs < 1 or timeout <= 0:
        raise UsageError("--jobs and --timeout must be positive")
    files = collect(paths)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder; pick another path")
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)  # grades are private; the sandboxed code cannot read them either
    seed = load_seed(out, seed)
    seed_id = hashlib.sha256(f"d2lcnn:{seed}".encode()).hexdigest()[:16]
    names, batch = result_names(files, out), Batch()
    pool = Pool(min(jobs, len(files)))
    try:
        return _grade(files, out, names, batch, pool, registry, seed, seed_id, timeout, force, exercises,
                      paths, log, start)
    finally:
        pool.close()


def _grade(files, out, names, batch, pool, registry, seed, seed_id, timeout, force, exercises, paths, log, start):

    todo = []
    for f in files:
        try:
            sub = read_submission(f)
        except Unreadable as e:
            batch.unreadable.append(str(e))
            log(f"unreadable {e}")
            continue
        chosen = exercises_for(sub, registry, exercises)
        target = out / f"{names[f]}.json"
        key = sorted(e.name for e in chosen)
        if not force and target.exists():
            try:
                old = json.loads(target.read_text())
                if (old.get("sha256"), old.get("seed_id"), sorted(old.get("exercises", {}))) == (sub.sha256, seed_id, key):
                    batch.skipped.append(f)
                    continue
            except (OSError, ValueError, AttributeError):
                pass
        todo.append((sub, chosen, target))

    expected, lock = {}, threading.Lock()

    def cases_of(exercise):
        with lock:
            if exercise.name not in expected:
                cases = exercise.cases(seed)
                expected[exercise.name] = (cases, [_expected(c, exercise) for c in cases])
            return expected[exercise.name]

    job_limits = limits(timeout)
    # what student code must not read: the grades, and everyone's submissions
    hidden = sorted({str(out.resolve())} | {str(Path(p).resolve() if Path(p).is_dir() else Path(p).resolve().parent)
                                            for p in paths})
    counter = iter(range(1, 1 << 62))

    def run_exercise(sub, exercise):
        cases, want = cases_of(exercise)
        hits = forbidden.scan(sub, exercise.name, forbidden.patterns_for(exercise))
        if hits:
            what, filename, lineno = hits[0]
            line = sub.line(filename, lineno)[:120]
            where = f"{what} ({filename}, line {lineno}" + (f": `{line}`" if line else "") + ")"
            return {"score": 0.0, "max_score": exercise.points, "status": "forbidden",
                    "feedback": forbidden_feedback(exercise.name, where), "output": ""}
        if exercise.name not in sub.defined() and exercise.name in sub.broken_defs:
            return {"score": 0.0, "max_score": exercise.points, "status": "error",
                    "feedback": missing_feedback(exercise, sub), "output": ""}
        job = {"id": next(counter), "exercise": exercise.name, "seed": seed, "timeout": timeout,
               "chunks": [c.to_json() for c in sub.chunks], "limits": job_limits, "hidden": hidden}
        reply = pool.run(job)
        reply["timeout"] = timeout
        return judge(exercise, cases, want, sub, reply)

    def run_submission(item):
        sub, chosen, target = item
        t0 = time.monotonic()
        results = {e.name: run_exercise(sub, e) for e in chosen}
        record = make_record(sub, chosen, results, seed_id, time.monotonic() - t0)
        with lock:
            _atomic_write(target, json.dumps(record, indent=1) + "\n")
            target.chmod(0o600)
            write_gradebook(out)
        summary = ", ".join(f"{n} {r['status']}" for n, r in results.items()) or "no exercises"
        log(f"graded {sub.path.name}: {record['score']:g}/{record['max_score']:g} ({summary}) -> {target.name}")
        return sub.path

    with ThreadPoolExecutor(max_workers=len(pool.workers)) as ex:
        batch.graded = list(ex.map(run_submission, todo))
    if not todo:
        write_gradebook(out)
    batch.seconds = time.monotonic() - start
    return batch


def _expected(case, exercise):
    value = case.call(exercise.reference)
    if isinstance(value, tuple):
        return tuple(to_array(v) for v in value)
    return to_array(value)


def make_record(sub, chosen, results, seed_id, seconds):
    """The result file: ours plus Gradescope's results.json fields (score, tests, output...)."""
    score = round(sum(r["score"] for r in results.values()), 2)
    max_score = round(sum(r["max_score"] for r in results.values()), 2)
    tests = []
    for e in chosen:
        r = results[e.name]
        text = r["feedback"] + (f"\n\nPrinted output:\n{r['output']}" if r["output"] else "")
        tests.append({"name": e.signature, "score": r["score"], "max_score": r["max_score"],
                      "status": "passed" if r["status"] == "passed" else "failed",
                      "output": text, "visibility": "visible"})
    notes = []
    if sub.syntax_errors:
        notes.append("Cells with syntax errors were skipped: " + "; ".join(sub.syntax_errors[:5]))
    if not chosen:
        names = ", ".join(sorted(load_all()))
        notes.append(f"No graded exercise found: the submission defines none of {names}.")
    output = "\n".join([f"Score: {score:g}/{max_score:g}"] + notes)
    return {"grader": "d2lcnn", "submission": str(sub.path), "sha256": sub.sha256, "seed_id": seed_id,
            "score": score, "max_score": max_score,
            "exercises": {n: {k: r[k] for k in ("score", "max_score", "status", "feedback", "output")}
                          for n, r in results.items()},
            "tests": tests, "execution_time": round(seconds, 3), "output": output, "visibility": "visible",
            "stdout_visibility": "hidden"}
