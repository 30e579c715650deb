"""The notebooks' text: valid nbformat 4 JSON, no stray control characters.

The check is ``.ci/check_notebooks.py``, which pre-commit also runs on staged notebooks.
"""

import importlib.util
import json

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
