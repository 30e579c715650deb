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
    (root / "subs").mkdir()
    for path in CORPUS.iterdir():  # this folder's files (other test modules keep theirs in folders)
        if path.is_file():
            shutil.copy(path, root / "subs" / path.name)
    add_odd_files(root / "subs", root)
    proc = grade(root / "subs", "--out", root / "out", "--timeout", "5")
    return proc, results(root / "out")


HONEST = (CORPUS / "honest_loop.py").read_text()
LONG_NAME = "robust_" + "x" * 230 + ".py"  # 240 bytes: the grader's temp names once overflowed
ODD_NAME = os.fsdecode(b"robust_\xff\xfe name.py")  # not UTF-8


def add_odd_files(subs: Path, root: Path) -> None:
    """Files that once stopped the batch, made here (their names or kinds cannot be committed)."""
    (subs / LONG_NAME).write_text(HONEST)
    (subs / ODD_NAME).write_text(HONEST)
    (subs / "robust_json_bomb.ipynb").write_text("[" * 200_000 + "]" * 200_000)
    (subs / "robust_oversized.py").write_text(HONEST + "#" * (3 * 2**20))
    secret = root / "private.py"  # outside the folder: a link must not reach it
    secret.write_text("PRIVATE = 1\n" + HONEST)
    (subs / "robust_link.py").symlink_to(secret)
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "robust_linked_dir.py").write_text(HONEST)
    (subs / "robust_dir_link").symlink_to(root / "elsewhere")


def statuses(record: dict) -> dict[str, str]:
    return {name: e["status"] for name, e in record["exercises"].items()}


def assert_honest_graded_in_full(records: dict[str, dict]) -> None:
    for name, record in records.items():
        if name.startswith("honest_"):
            # what it defines passes; a .py is graded on its chapters, the rest of them missing
            done = {n: e for n, e in record["exercises"].items() if e["status"] != "missing"}
            assert done and all(e["score"] == e["max_score"] for e in done.values()), {
                n: e["feedback"] for n, e in record["exercises"].items()
            }
            assert record["score"] == sum(e["max_score"] for e in done.values())
