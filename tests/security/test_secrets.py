"""Secrets never enter the sandbox: the seed is not on argv nor in any child's memory, hidden
cases are drawn per submission, and hidden-case feedback carries no text the student chose."""

import torch

from d2lcnn.grading import load_all
from d2lcnn.grading.secret import hidden_seed

from .conftest import SECRET, assert_honest_graded_in_full


def test_honest_files_of_the_batch_get_full_marks(security_batch):
    proc, records = security_batch
    assert records, proc.stderr
    assert_honest_graded_in_full(records)


def test_no_child_finds_the_secret(security_batch):
    proc, records = security_batch
    hunt = records["secrets_hunt.py"]["exercises"]["corr2d"]
    assert "hunted: nothing" in hunt["output"], hunt["output"]
    assert hunt["status"] == "passed"
    for record in records.values():
        assert SECRET not in str(record)


def test_hidden_feedback_carries_no_student_text(security_batch):
    proc, records = security_batch
    e = records["secrets_leak_feedback.py"]["exercises"]["corr2d"]
    assert e["status"] in ("failed", "error") and e["score"] < e["max_score"]
    assert "LEAK" not in e["feedback"], e["feedback"]
    assert "got" not in e["feedback"] and "exit code" not in e["feedback"], e["feedback"]
    assert e["output"].count("\n") <= len(load_all()["corr2d"].public_cases) + 1


def test_hidden_cases_depend_on_the_secret_and_the_content():
    exercise = load_all()["pool2d"]

    def labels(secret, sha):
        gen = torch.Generator().manual_seed(hidden_seed(secret, sha))
        return [
            (c.label, [a.tolist() if isinstance(a, torch.Tensor) else a for a in c.args])
            for c in exercise.hidden_cases(gen)
        ]

    a = labels(SECRET, "a" * 64)
    assert a == labels(SECRET, "a" * 64)  # reruns grade alike
    assert a != labels(SECRET, "b" * 64)  # another file (or version) gets other inputs
    assert a != labels("another secret", "a" * 64)


def test_seed_on_the_command_line_is_refused(tmp_path):
    from .conftest import grade

    (tmp_path / "a.py").write_text("def corr2d(X, K):\n    return X\n")
    proc = grade(tmp_path / "a.py", "--out", tmp_path / "out", "--seed", "1")
    assert proc.returncode == 2 and "--seed-file" in proc.stderr
    assert not (tmp_path / "out").exists()
