"""Gradescope's ``run_autograder``: grade /autograder/submission, always leave a results.json.

Copied into the autograder zip by ``d2lcnn gradescope``; standard library only, so
that it still writes a result when the grading environment is broken. The secret
seed stays in the zip's ``seed`` file (mode 0600): ``d2lcnn grade --seed-file``
reads it, so it never appears on a command line.

Every way this can fail ends in a valid results.json: score 0 and an output that
says what went wrong and whom to contact; the details go to stdout, which
Gradescope shows the instructor only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONTACT = "This is not a problem with your code: please contact your instructor."
SUFFIXES = (".ipynb", ".py")


def submitted_files(folder: Path) -> list[Path]:
    """The notebooks and Python files of a submission (hidden folders and checkpoints skipped)."""
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix in SUFFIXES
        and not any(
            part.startswith(".") or part == "__pycache__" for part in p.relative_to(folder).parts
        )
    )


def zero(output: str, started: float, **extra: object) -> dict:
    """A result that gives 0 points and says why."""
    return {
        "score": 0.0,
        "execution_time": round(time.monotonic() - started, 2),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"d2lcnn": {"graded": False, **extra}},
        "tests": [],
    }


def from_record(record: dict, config: dict, started: float, notes: list[str]) -> dict:
    """Gradescope's results.json from a d2lcnn result file: its documented fields only."""
    tests = [
        {
            k: t[k]
            for k in ("name", "score", "max_score", "status", "output", "visibility")
            if k in t
        }
        for t in record.get("tests", [])
    ]
    return {
        "score": float(record["score"]),
        "execution_time": round(time.monotonic() - started, 2),
        "output": "\n".join([str(record.get("output", "")), *notes]).strip(),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {
            "d2lcnn": {
                "graded": True,
                "assignment": config["assignment"],
                "file": Path(str(record.get("submission", ""))).name,
                "statuses": {n: r.get("status") for n, r in record.get("exercises", {}).items()},
                "seed_id": record.get("seed_id"),
            }
        },
        "tests": tests,
    }


def pick(records: list[dict], config: dict) -> tuple[dict, list[str]]:
    """The result to report when a student uploaded several files, and a note on the others."""
    named = [r for r in records if Path(str(r.get("submission"))).stem == config["assignment"]]
    chosen = (named or sorted(records, key=lambda r: -float(r.get("score") or 0)))[0]
    others = [Path(str(r["submission"])).name for r in records if r is not chosen]
    notes = (
        [f"Graded {Path(str(chosen['submission'])).name}; not graded: {', '.join(others)}."]
        if others
        else []
    )
    return chosen, notes


def grade(root: Path, started: float) -> dict:
    """Grade the submission under ``root`` (the /autograder tree) and return its results.json."""
    source = root / "source"
    config = json.loads((source / "assignment.json").read_text())
    files = submitted_files(root / "submission")
    if not files:
        return zero(
            "No notebook (.ipynb) or Python file (.py) was found in your submission. Upload "
            f"your {config['assignment']}.ipynb (the course notebook with your answers) and "
            "submit again.",
            started,
            reason="no submission",
        )
    work = Path(tempfile.mkdtemp(prefix="d2lcnn-"))
    grades = work / "grades"
    grades.mkdir(mode=0o700)
    (source / "seed").chmod(0o600)
    command = [
        os.environ.get("D2LCNN_PYTHON", sys.executable),
        "-m",
        "d2lcnn.cli",
        "grade",
        str(root / "submission"),
        "--out",
        str(grades),
        "--jobs",
        "1",
        "--timeout",
        str(config["timeout"]),
        "--seed-file",  # the file's name, never the secret itself
        str(source / "seed"),
        "--exercises",
        ",".join(config["exercises"]),
        "--no-report",
    ]
    env = dict(os.environ, PYTHONPATH=str(source / "package"))
    try:
        proc = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=config["limit"],
            env=env,
            cwd=work,
        )
    except subprocess.TimeoutExpired:
        return zero(
            f"The autograder did not finish within {config['limit']} s. {CONTACT}",
            started,
            reason="grader timed out",
        )
    print(proc.stdout)
    print(proc.stderr, file=sys.stderr)
    records = []
    for p in sorted(grades.glob("*.json")):
        try:
            records.append(json.loads(p.read_text()))
        except (OSError, ValueError):
            continue
    records = [r for r in records if isinstance(r, dict) and r.get("grader") == "d2lcnn"]
    unreadable = [
        line.split("not graded: ", 1)[1]
        for line in proc.stderr.splitlines()
        if "d2lcnn grade: not graded: " in line
    ]
    if records and proc.returncode in (0, 1):
        record, notes = pick(records, config)
        notes += [
            f"Not graded: {Path(u.split(':', 1)[0]).name} could not be read." for u in unreadable
        ]
        return from_record(record, config, started, notes)
    if unreadable:
        return zero(
            "Your submission could not be read: "
            + "; ".join(u.replace(str(root / "submission") + "/", "") for u in unreadable),
            started,
            reason="unreadable",
        )
    why = {
        2: "the grader was called wrongly",
        3: "a grading worker could not start",
    }.get(proc.returncode, f"the grader stopped with exit status {proc.returncode}")
    return zero(
        f"The autograder could not grade your submission: {why}. {CONTACT}",
        started,
        reason=why,
    )


def main() -> int:
    """Grade and write /autograder/results/results.json, whatever happens; exit 0."""
    started = time.monotonic()
    root = Path(os.environ.get("D2LCNN_AUTOGRADER_ROOT", "/autograder"))
    try:
        result = grade(root, started)
    except Exception as e:  # noqa: BLE001 - a student must always get a result
        print(f"run_autograder: {type(e).__name__}: {e}", file=sys.stderr)
        result = zero(
            f"The autograder failed ({type(e).__name__}). {CONTACT}",
            started,
            reason="autograder error",
        )
    out = root / "results"
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".results.json.tmp"
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(tmp, out / "results.json")
    print(f"run_autograder: score {result['score']}, results in {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
