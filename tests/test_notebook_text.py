"""The notebooks' text: valid nbformat 4 JSON, no stray control characters, every
sentence that points to a results row names a row that exists in ``results/RESULTS.md``,
and no sentence says that a result still awaits its run.

The check is ``.ci/check_notebooks.py``, which pre-commit also runs on staged notebooks.
"""

import importlib.util
import json
import re

import pytest

from conftest import ROOT, SOLUTIONS, STUDENT

NOTEBOOKS = sorted(SOLUTIONS.glob("*.ipynb")) + sorted(STUDENT.glob("*.ipynb"))
SPEC = importlib.util.spec_from_file_location("check_notebooks", ROOT / ".ci/check_notebooks.py")
check_notebooks = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(check_notebooks)


def test_control_characters_are_found(tmp_path):
    control_characters = check_notebooks.control_characters
    assert control_characters("$\\frac{n}{n-1}$\tok\n") == []
    assert control_characters("a\n$\x0crac{n}{n-1}$") == [(2, "'\\x0c'")]
    assert control_characters("\r\n") == [(1, "'\\r'")]
    path = tmp_path / "bad.ipynb"
    cells = [{"cell_type": "markdown", "source": ["a\n", "$\x0crac{n}{n-1}$"]}]
    path.write_text(json.dumps({"cells": cells, "nbformat": 4}))
    assert check_notebooks.problems(path) == [
        "cell 0, line 2: control character '\\x0c' (a backslash escape such as "
        "\\f of \\frac written into a Python string?)"
    ]
    path.write_text('{"cells": [')
    assert check_notebooks.problems(path)[0].startswith("not a readable JSON file")
    assert check_notebooks.main([str(path)]) == 1


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_clean(path):
    assert check_notebooks.problems(path) == [], path.relative_to(ROOT)


# A sentence that points to a stored result, and how it names the row it means.
POINTS_TO_RESULTS = re.compile(r"RESULTS\.md|results table", re.IGNORECASE)
ROW = re.compile(r"\brow\s+`([^`]+)`")  # the name may wrap onto the next line
# "awaits a GPU", "awaiting its run": a promise, which goes stale once the row exists.
AWAITS = re.compile(r"\bawait(s|ing|ed)?\b", re.IGNORECASE)


def result_rows():
    """The first column of every row of the table in results/RESULTS.md."""
    lines = (ROOT / "results" / "RESULTS.md").read_text(encoding="utf-8").splitlines()
    rows = [line.split("|")[1].strip() for line in lines if line.startswith("| ")]
    return set(rows[1:])  # without the header


def test_result_rows_are_read():
    rows = result_rows()
    assert "lenet" in rows and "model" not in rows


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.name)
def test_pointers_to_results_name_rows_that_exist(path):
    rows = result_rows()
    for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] != "markdown":
            continue
        named = ROW.findall(text)
        assert named or not POINTS_TO_RESULTS.search(text), (
            f"{path.name}, cell {i} points to the results without naming a row; "
            "write e.g. row `resnet18 (CPU setting)` of results/RESULTS.md"
        )
        missing = sorted(set(named) - rows)
        assert not missing, (
            f"{path.name}, cell {i} points to results rows that do not exist: {missing}; "
            f"results/RESULTS.md has {sorted(rows)}. Run bench/reproduce.py for them, "
            "or point to a row that exists."
        )


def test_row_names_are_found():
    text = "recorded as row `nin (CPU setting)` and row\n`bn_lenet` of results/RESULTS.md"
    assert ROW.findall(text) == ["nin (CPU setting)", "bn_lenet"]
    assert ROW.findall("every arrow `x`") == []
    assert AWAITS.search("The book's setting awaits a GPU.")


@pytest.mark.parametrize("path", sorted(SOLUTIONS.glob("*.ipynb")), ids=lambda p: p.name)
def test_no_result_awaits_its_run(path):
    for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] == "markdown" and (found := AWAITS.search(text)):
            line = text[: found.start()].count("\n") + 1
            raise AssertionError(
                f"{path.name}, cell {i}, line {line}: says a result awaits its run "
                f"({found.group(0)!r}); run it (bench/reproduce.py) and point to its row "
                "in results/RESULTS.md, or say plainly what was not measured and why"
            )
