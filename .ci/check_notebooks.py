"""Check notebooks before they are committed: valid JSON, nbformat 4, no control characters.

Usage: ``python .ci/check_notebooks.py NOTEBOOK...`` (pre-commit passes the staged ones;
``tests/test_notebook_text.py`` runs the same check on every course notebook).
A control character in a cell is usually a backslash escape written into a Python string
(``"\\frac"`` becomes a form feed and ``rac``); in an output, ANSI colour codes of a
stored traceback. Both render as garbage on GitHub and in diffs.
Exits 1 and names each notebook, cell and line that is wrong.
"""

import json
import re
import sys
from pathlib import Path

# C0 controls but tab and newline, DEL, and C1 controls. Outputs may also hold "\r"
# (a progress bar redrawing its line); cell text may not.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
OUTPUT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_characters(text: str, pattern: re.Pattern[str] = CONTROL) -> list[tuple[int, str]]:
    """``(line number, character)`` of every control character in ``text``."""
    return [(text.count("\n", 0, m.start()) + 1, repr(m.group())) for m in pattern.finditer(text)]


def strings(value: object) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    return []


def problems(path: Path) -> list[str]:
    """What is wrong with the notebook at ``path``; empty if nothing."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return [f"not a readable JSON file: {e}"]
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        return ["not an nbformat 4 notebook (no nbformat: 4 and list of cells)"]
    found = []
    for i, cell in enumerate(nb["cells"]):
        cell = cell if isinstance(cell, dict) else {}
        source = "".join(strings(cell.get("source", "")))
        found += [
            f"cell {i}, line {line}: control character {char} (a backslash escape such as "
            "\\f of \\frac written into a Python string?)"
            for line, char in control_characters(source)
        ]
        outputs = "\n".join(strings(cell.get("outputs", [])))
        found += [
            f"cell {i}, output: control character {char}; clear the output or strip it"
            for _, char in control_characters(outputs, OUTPUT_CONTROL)[:1]
        ]
    return found


def main(paths: list[str]) -> int:
    failed = 0
    for name in paths:
        for problem in problems(Path(name)):
            print(f"{name}: {problem}", file=sys.stderr)
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
