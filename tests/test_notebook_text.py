"""The notebooks' text: no stray control characters."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "solutions").glob("*.ipynb")) + sorted(
    (ROOT / "notebooks").glob("*.ipynb")
)
# C0 controls except tab and newline, DEL, and C1 controls (e.g. "\f" from an unescaped "\frac").
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def cell_sources(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for i, cell in enumerate(nb["cells"]):
        src = cell["source"]
        yield i, cell["cell_type"], "".join(src) if isinstance(src, list) else src


def control_characters(text):
    """``(line number, character)`` of every control character in ``text`` but newline and tab."""
    return [(text.count("\n", 0, m.start()) + 1, repr(m.group())) for m in CONTROL.finditer(text)]


def test_control_characters_are_found():
    assert control_characters("$\\frac{n}{n-1}$\tok\n") == []
    assert control_characters("a\n$\x0crac{n}{n-1}$") == [(2, "'\\x0c'")]
    assert control_characters("\r\n") == [(1, "'\\r'")]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_control_characters_in_cells(path):
    bad = [
        f"cell {i}, line {line}: {char}"
        for i, _, text in cell_sources(path)
        for line, char in control_characters(text)
    ]
    assert not bad, (
        f"{path.relative_to(ROOT)} has control characters (a backslash escape such as "
        f"\\f in \\frac written into a Python string?): {'; '.join(bad)}"
    )
