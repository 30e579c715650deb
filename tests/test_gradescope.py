"""The Gradescope autograder zip: its layout, and run_autograder on a fake /autograder tree
(submission present, missing, grader broken) always leaving a valid results.json."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from d2lcnn.grading.gradescope import GradescopeError, build, validate_results

ROOT = Path(__file__).resolve().parents[1]
SEED = "424242"


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gradescope")
    (folder / "seed").write_text(SEED + "\n")
    return build("02_conv_layer", folder / "seed", folder / "autograder.zip", timeout=5)


def tree(package, tmp_path):
    """/autograder as Gradescope lays it out: source/ from the zip, run_autograder beside it."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(package) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, root / "source"))
            path.chmod((info.external_attr >> 16) & 0o777)
    shutil.copy(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    return root


def run_autograder(root):
    env = dict(
        os.environ,
        D2LCNN_AUTOGRADER_ROOT=str(root),
        D2LCNN_PYTHON=sys.executable,
        D2LCNN_SANDBOX_UID=str(230_000 + (os.getpid() % 100_000) * 4),
    )
    env.pop("PYTHONPATH", None)  # the zip's own copy of the package is what runs
    proc = subprocess.run(
        [str(root / "run_autograder")], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads((root / "results" / "results.json").read_text())
    assert validate_results(result) == [], result
    return result, proc


def test_zip_layout(package):
    with zipfile.ZipFile(package) as zf:
        names = set(zf.namelist())
        mode = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        pins = zf.read("requirements.txt").decode().split()
        config = json.loads(zf.read("assignment.json"))
        run = zf.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "requirements.txt", "seed"} <= names
    assert mode["setup.sh"] & 0o111 and mode["run_autograder"] & 0o111 and mode["seed"] == 0o600
    assert "package/d2lcnn/grading/runner.py" in names
    assert pins and all("==" in p for p in pins) and any(p.startswith("torch==") for p in pins)
    assert config["exercises"] == ["corr2d", "conv2d_true", "corr2d_vec"]
    assert SEED not in run and "--seed" not in run


def test_submission_present(package, tmp_path):
    root = tree(package, tmp_path)
    shutil.copy(
        ROOT / "examples" / "submissions" / "bob_02_conv_layer.ipynb",
        root / "submission" / "02_conv_layer.ipynb",
    )
    result, proc = run_autograder(root)
    assert [t["name"] for t in result["tests"]] == [
        "corr2d(X, K)",
        "conv2d_true(X, K)",
        "corr2d_vec(X, K)",
    ]
    assert 10 <= result["score"] < 30
    assert result["extra_data"]["d2lcnn"]["statuses"]["corr2d"] == "passed"
    # the seed came from the zip's seed file, and appears in no output
    want = hashlib.sha256(f"d2lcnn:{SEED}".encode()).hexdigest()[:16]
    assert result["extra_data"]["d2lcnn"]["seed_id"] == want
    assert SEED not in json.dumps(result) and SEED not in proc.stdout + proc.stderr


def test_submission_missing(package, tmp_path):
    root = tree(package, tmp_path)
    (root / "submission" / "notes.txt").write_text("forgot the notebook")
    result, _ = run_autograder(root)
    assert result["score"] == 0 and "No notebook (.ipynb) or Python file" in result["output"]
    assert "02_conv_layer.ipynb" in result["output"]


def test_grader_broken(package, tmp_path):
    root = tree(package, tmp_path)
    (root / "submission" / "a.py").write_text("def corr2d(X, K):\n    return X\n")
    runner = root / "source" / "package" / "d2lcnn" / "grading" / "runner.py"
    runner.write_text("raise ImportError('broken on purpose')\n")
    result, proc = run_autograder(root)
    assert result["score"] == 0 and result["tests"] == []
    assert "could not grade your submission" in result["output"]
    assert "contact your instructor" in result["output"]
    assert "broken on purpose" in proc.stderr  # the details are in the instructor's log


def test_unknown_assignment_and_bad_seed(tmp_path):
    (tmp_path / "seed").write_text("two words")
    with pytest.raises(GradescopeError, match="pick one of"):
        build("99_nothing", tmp_path / "seed", tmp_path / "a.zip")
    with pytest.raises(GradescopeError, match="one secret word"):
        build("02_conv_layer", tmp_path / "seed", tmp_path / "a.zip")
    assert not (tmp_path / "a.zip").exists()
