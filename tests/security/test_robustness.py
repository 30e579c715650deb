"""No submission can stop the batch: every failure while grading one submission becomes that
submission's own result (or a named line in the report), the others are graded in full."""

import pytest

from .conftest import (
    LONG_NAME,
    ODD_NAME,
    assert_honest_graded_in_full,
    statuses,
)


def test_the_batch_goes_on_and_says_which_submission_broke_it(security_batch):
    proc, records = security_batch
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 4, proc.stderr  # a submission broke the grader: its own code
    assert "robust_deep_chain.py: corr2d: RecursionError" in proc.stderr
    assert_honest_graded_in_full(records)
    chain = records["robust_deep_chain.py"]["exercises"]["corr2d"]
    assert chain["status"] == "error" and chain["score"] == 0
    assert "The grader failed on this submission (RecursionError" in chain["feedback"]


@pytest.mark.parametrize("name", ["robust_forged_pipe.py", "robust_message_flood.py"])
def test_forged_or_flooded_result_pipe_is_an_error(security_batch, name):
    proc, records = security_batch
    e = records[name]["exercises"]["corr2d"]
    assert e["status"] == "error" and e["score"] == 0, e["feedback"]


def test_forged_lines_name_what_was_wrong(security_batch):
    e = security_batch[1]["robust_forged_pipe.py"]["exercises"]["corr2d"]
    assert "result channel" in e["feedback"]
    assert "(expected an integer in [0, 1000000])" in e["feedback"]  # `"case": true`


def test_deleted_metadata_is_graded_on_the_whole_assignment(security_batch):
    record = security_batch[1]["robust_no_metadata.ipynb"]
    assert record["max_score"] == 30
    assert statuses(record) == {
        "corr2d": "passed",
        "conv2d_true": "missing",
        "corr2d_vec": "missing",
    }


def test_odd_file_names_are_graded_and_listed(security_batch, tmp_path):
    proc, records = security_batch
    shown_odd = ODD_NAME.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    for name in (LONG_NAME, shown_odd):
        record = records[name]  # corr2d and pool2d pass; their chapters' other exercises missing
        assert record["score"] == 20 and record["max_score"] == 50, name
        assert set(statuses(record).values()) == {"passed", "missing"}, name


def test_unreadable_files_are_listed_not_parsed(security_batch):
    proc, records = security_batch
    assert "robust_json_bomb.ipynb: its JSON is nested too deeply" in proc.stderr
    assert "robust_oversized.py: larger than 2 MiB, not read" in proc.stderr
    assert "robust_json_bomb.ipynb" not in records and "robust_oversized.py" not in records


def test_symbolic_links_are_never_followed(security_batch):
    proc, records = security_batch
    assert "robust_link.py: a symbolic link (never followed)" in proc.stderr
    assert "robust_dir_link: a symbolic link (never followed)" in proc.stderr
    assert not any(n in records for n in ("robust_link.py", "private.py", "robust_linked_dir.py"))
