"""``d2lcnn gradescope ASSIGNMENT --seed-file F --out autograder.zip``: Gradescope's autograder zip.

The zip holds what Gradescope's autograder specification asks for
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): ``setup.sh``
(installs the pinned requirements), ``run_autograder`` (runs
``gradescope_run.py``, which always leaves a valid results.json), and beside
them the course package, the assignment's exercises and the secret seed, read
from a file so that it is never on a command line.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import stat
import zipfile
from pathlib import Path

from .registry import load_all

PACKAGE = Path(__file__).resolve().parents[1]  # the d2lcnn package folder
NOT_NEEDED = {"jupyterlab"}  # the grading container runs no notebook server
TORCH = ("torch", "torchvision")  # installed first, from PyTorch's CPU-only index
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
set -euxo pipefail
apt-get update && apt-get install -y --no-install-recommends python3 python3-pip bubblewrap
cd /autograder/source
python3 -m pip install --break-system-packages {torch} --index-url {index} \\
  || python3 -m pip install {torch} --index-url {index}
python3 -m pip install --break-system-packages -r requirements.txt \\
  || python3 -m pip install -r requirements.txt
chmod 600 seed
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission; it always leaves results/results.json.
# The seed is read from the seed file by gradescope_run.py, never passed as an argument.
ROOT="${{D2LCNN_AUTOGRADER_ROOT:-/autograder}}"
exec "${{D2LCNN_PYTHON:-python3}}" "$ROOT/source/gradescope_run.py"
"""

# Gradescope's documented results.json fields and their JSON types.
TOP_FIELDS: dict[str, type | tuple[type, ...]] = {
    "score": (int, float),
    "execution_time": (int, float),
    "output": str,
    "output_format": str,
    "test_output_format": str,
    "test_name_format": str,
    "visibility": str,
    "stdout_visibility": str,
    "extra_data": dict,
    "tests": list,
    "leaderboard": list,
}
TEST_FIELDS: dict[str, type | tuple[type, ...]] = {
    "score": (int, float),
    "max_score": (int, float),
    "status": str,
    "name": str,
    "name_format": str,
    "number": str,
    "output": str,
    "output_format": str,
    "tags": list,
    "visibility": str,
    "extra_data": dict,
}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


class GradescopeError(Exception):
    """The autograder cannot be built; the message says what to do."""


def validate_results(result: object) -> list[str]:
    """What in ``result`` breaks Gradescope's documented results.json format (empty: valid).

    Example::

        >>> validate_results({"score": 0.0, "output": "no file", "tests": []})
        []
        >>> validate_results({"tests": [{"status": "ok"}]})
        ['no score: neither a top-level score nor one on every test', 'tests[0].status: ok']
    """
    if not isinstance(result, dict):
        return ["not a JSON object"]
    problems = [f"unknown field {k}" for k in result if k not in TOP_FIELDS]
    problems += [
        f"{k}: {type(result[k]).__name__}"
        for k, kind in TOP_FIELDS.items()
        if k in result and (not isinstance(result[k], kind) or isinstance(result[k], bool))
    ]
    raw = result.get("tests")
    tests: list = raw if isinstance(raw, list) else []
    if "score" not in result and (not tests or any("score" not in t for t in tests)):
        problems.append("no score: neither a top-level score nor one on every test")
    for key in ("visibility", "stdout_visibility"):
        if key in result and result[key] not in VISIBILITY:
            problems.append(f"{key}: {result[key]}")
    for key in ("output_format", "test_output_format", "test_name_format"):
        if key in result and result[key] not in FORMATS:
            problems.append(f"{key}: {result[key]}")
    for i, t in enumerate(tests):
        if not isinstance(t, dict):
            problems.append(f"tests[{i}]: not an object")
            continue
        problems += [f"tests[{i}]: unknown field {k}" for k in t if k not in TEST_FIELDS]
        problems += [
            f"tests[{i}].{k}: {type(t[k]).__name__}"
            for k, kind in TEST_FIELDS.items()
            if k in t and (not isinstance(t[k], kind) or isinstance(t[k], bool))
        ]
        if "status" in t and t["status"] not in ("passed", "failed"):
            problems.append(f"tests[{i}].status: {t['status']}")
        if "visibility" in t and t["visibility"] not in VISIBILITY:
            problems.append(f"tests[{i}].visibility: {t['visibility']}")
    return problems


def exercises_of(assignment: str) -> tuple[str, list[str]]:
    """``(notebook stem, exercise names)`` of an assignment given as ``02_conv_layer``,
    ``conv_layer`` or ``solutions/02_conv_layer.ipynb``.

    Example::

        >>> exercises_of("conv_layer")[0]
        '02_conv_layer'
    """
    chapters: dict[str, list[str]] = {}
    for exercise in load_all().values():
        chapters.setdefault(Path(exercise.notebook).stem, []).append(exercise.name)
    want = Path(assignment).stem
    for stem, names in chapters.items():
        if want in (stem, re.sub(r"^\d+[_-]", "", stem)):
            return stem, names
    raise GradescopeError(
        f"no graded exercises in an assignment called {assignment!r}; "
        f"pick one of {', '.join(sorted(chapters))}"
    )


def read_seed(path: str | os.PathLike) -> str:
    """The secret from ``path`` (one word, no spaces), checked."""
    try:
        text = Path(path).read_text().strip()
    except OSError as e:
        raise GradescopeError(f"--seed-file {path}: cannot be read ({e.strerror})") from None
    if not re.fullmatch(r"\S{1,200}", text):
        raise GradescopeError(
            f"--seed-file {path}: expected one secret word on one line, e.g. from "
            "`python3 -c 'import secrets; print(secrets.token_hex(16))' > seed`"
        )
    return text + "\n"


def requirements() -> str:
    """The package's dependencies pinned to the versions installed here (torch's first)."""
    wanted = importlib.metadata.requires("d2lcnn") or []
    names = [re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0] for d in wanted if "extra ==" not in d]
    pins = [
        f"{n}=={importlib.metadata.version(n).split('+')[0]}" for n in names if n not in NOT_NEEDED
    ]
    return "\n".join(pins) + "\n"


def _add(zf: zipfile.ZipFile, name: str, data: str | bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def build(
    assignment: str,
    seed_file: str | os.PathLike,
    out: str | os.PathLike,
    timeout: float = 10.0,
) -> Path:
    """Write the autograder zip of one assignment; return its path.

    Args:
        assignment: the chapter, e.g. ``02_conv_layer``.
        seed_file: a file holding the secret seed of the hidden cases.
        out: the zip to write.
        timeout: seconds per exercise of a submission.
    """
    stem, exercises = exercises_of(assignment)
    seed = read_seed(seed_file)
    pins = requirements()
    torch = " ".join(p for p in pins.split() if p.split("==")[0] in TORCH)
    config = {
        "assignment": stem,
        "exercises": exercises,
        "timeout": timeout,
        "limit": int(60 + 3 * timeout * len(exercises)),  # the whole grade, torch start-up included
    }
    out = Path(out)
    with zipfile.ZipFile(out, "w") as zf:
        _add(zf, "setup.sh", SETUP_SH.format(torch=torch, index=CPU_INDEX), 0o755)
        _add(zf, "run_autograder", RUN_AUTOGRADER.format(), 0o755)
        _add(zf, "gradescope_run.py", (Path(__file__).parent / "gradescope_run.py").read_text())
        _add(zf, "requirements.txt", pins)
        _add(zf, "assignment.json", json.dumps(config, indent=1) + "\n")
        _add(zf, "seed", seed, 0o600)
        for path in sorted(PACKAGE.rglob("*.py")):
            if "__pycache__" not in path.parts:
                rel = path.relative_to(PACKAGE.parent).as_posix()
                _add(zf, f"package/{rel}", path.read_bytes())
    return out
