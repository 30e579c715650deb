"""Turn a worker's reply into a grade: compare each case, explain what went wrong.

Runs in the grader's process on plain data: the expected values come from the
references computed here, the received ones are decoded from bytes.
"""

import base64

import numpy as np

from .compare import Received, compare

OUTPUT_SHOWN = 2000  # characters of printed output put into the feedback


def decode(value):
    """A child's encoded value as a float64 array, a tuple of them, or :class:`Received`."""
    if not isinstance(value, dict):
        return Received("unreadable result")
    if value.get("kind") == "tuple" and isinstance(value.get("items"), list):
        return tuple(decode(v) for v in value["items"])
    if (
        value.get("kind") == "number"
        and isinstance(value.get("value"), (int, float))
        and not isinstance(value.get("value"), bool)
    ):
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
        return dict(
            result,
            status="error",
            feedback=f"{name}: the grader failed ({reply['worker_error']}); tell your instructor.",
        )
    messages = reply.get("messages", [])
    hits = [str(m["forbidden"])[:200] for m in messages if "forbidden" in m]
    if hits:
        return dict(result, status="forbidden", feedback=forbidden_feedback(exercise, hits[0]))
    load_errors = [m["load_error"] for m in messages if "load_error" in m]
    setup = [
        f"  while loading your definitions: {_error_text(submission, e)}" for e in load_errors[:5]
    ]
    if any(m.get("missing") for m in messages):
        return dict(
            result,
            status="missing",
            feedback="\n".join([missing_feedback(exercise, submission)] + setup),
        )
    bad = next((m["not_callable"] for m in messages if "not_callable" in m), None)
    if bad:
        return dict(
            result,
            status="error",
            feedback=f"{name} is a {bad}, not a function: "
            f"define it as `def {exercise.signature}:`.",
        )
    got = {}
    for m in messages:
        case = m.get("case")
        if isinstance(case, int) and 0 <= case < n and case not in got:
            got[case] = m
    passed, errors, done = 0, 0, 0
    for i, case in enumerate(cases):
        m = got.get(i)
        if m is None:
            break
        done += 1
        if "error" in m:
            errors += 1
            lines.append(f"  x  {case.label}: {_error_text(submission, m['error'], i >= n_public)}")
            continue
        value = decode(m.get("value"))
        ok, message = compare(expected[i], value, exercise.rtol, exercise.atol)
        if (
            not ok
            and isinstance(value, Tensor)
            and _fractional(expected[i])
            and value.dtype_name.split(".")[-1].startswith(("int", "uint", "bool"))
        ):
            message += f" (your tensor has dtype {value.dtype_name}: integers drop the fractions)"
        passed += ok
        lines.append(f"  {'ok' if ok else 'x '} {case.label}" + ("" if ok else f": {message}"))
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
        elif reply.get("exit_code") == 70:
            status = "error"
            why = "the grader failed before your code ran (exit code 70); tell your instructor"
        else:
            status = "error"
            why = (
                f"ended the process (exit code {reply.get('exit_code')}); "
                "does your code call exit(), sys.exit() or os._exit()?"
            )
        lines.append(
            f"  x  {label}: {why}; the {n - done - 1} case(s) after it were not run"
            if n - done > 1
            else f"  x  {label}: {why}"
        )
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
            groups.append(
                (
                    sep and line.startswith("  x"),
                    [label[5:] if line.startswith("  x") else label],
                    message,
                    line,
                )
            )
    out = []
    for failed, labels, message, line in groups:
        if not failed or len(labels) == 1:
            out.append(line)
        else:
            names = ", ".join(labels[:2]) + (
                f" and {len(labels) - 2} more" if len(labels) > 2 else ""
            )
            out.append(f"  x  {names}: {message}")
    return out


def forbidden_feedback(exercise, what):
    """Why ``exercise`` scores 0 for using ``what``, and what it may use instead."""
    name = exercise.name
    if what.startswith(("d2lcnn", "the grader", f"{name} is the course")):
        return (
            f"{name}: forbidden, 0 points. It uses the course package's own answer ({what}); "
            f"write {name} yourself."
        )
    return (
        f"{name}: forbidden, 0 points. It uses {what}, the library function this exercise "
        f"teaches you to write yourself. Use {exercise.allowed} instead."
    )


def missing_feedback(exercise, submission):
    name = exercise.name
    if name in submission.broken_defs:
        return f"{name}: not graded, its cell has a syntax error: {submission.broken_defs[name]}."
    return (
        f"{name}: not found. Define `def {exercise.signature}:` at the top level of a cell "
        "(not inside another function or an `if`)."
    )
