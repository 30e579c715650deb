"""The security corpus: hostile submissions (``corpus/``, named by attack class) graded in one
batch beside honest ones, so each test can assert both the rightful outcome for the attack and
full marks for the honest files of the same batch."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
SECRET = "topsecret-4f1c9"


def grade(
    *args: object, env: dict | None = None, timeout: int = 600
) -> subprocess.CompletedProcess:
    """``d2lcnn grade ARGS`` in a fresh process, the secret in its environment."""
    return subprocess.run(
        [sys.executable, "-m", "d2lcnn.cli", "grade", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, D2LCNN_SEED=SECRET, **(env or {})),
    )


def results(out: Path) -> dict[str, dict]:
    """``{submission file name: result record}`` of a results folder."""
    records = {}
    for p in out.glob("*.json"):
        record = json.loads(p.read_text())
        records[Path(record["submission"]).name] = record
    return records


@pytest.fixture(scope="session")
def security_batch(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess, dict[str, dict]]:
    """The whole security corpus graded in one batch: (the process, its results by file name)."""
    root = tmp_path_factory.mktemp("security")
    shutil.copytree(CORPUS, root / "subs")
    proc = grade(root / "subs", "--out", root / "out", "--timeout", "5")
    return proc, results(root / "out")


def statuses(record: dict) -> dict[str, str]:
    return {name: e["status"] for name, e in record["exercises"].items()}


def assert_honest_graded_in_full(records: dict[str, dict]) -> None:
    for name, record in records.items():
        if name.startswith("honest_"):
            assert record["score"] == record["max_score"], {
                n: e["feedback"] for n, e in record["exercises"].items()
            }
