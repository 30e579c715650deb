"""The import rules of CONTRIBUTING.md's Architecture section, checked on the source.

Each module's imports are read with ``ast`` (relative ones made absolute), so a
rule holds for imports inside functions too, and nothing is imported to check it.
"""

import ast

import pytest

from conftest import ROOT

PACKAGE = ROOT / "d2lcnn"


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path):
    """The d2lcnn modules ``path`` imports, as absolute dotted names."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join(base + [node.module] if node.module else base)
            if node.level == 0:
                module = node.module or ""
            # `from . import x` may import the submodule x
            found |= {module} | {f"{module}.{a.name}" for a in node.names}
    return {m for m in found if m == "d2lcnn" or m.startswith("d2lcnn.")}


def modules(folder, recursive=False):
    paths = folder.rglob("*.py") if recursive else folder.glob("*.py")
    return sorted(paths)


def under(name, prefix):
    return name == prefix or name.startswith(prefix + ".")


CHAPTERS = modules(PACKAGE / "chapters")
EXERCISES = modules(PACKAGE / "grading" / "exercises")
MACHINERY = modules(PACKAGE / "grading")
TOP_LEVEL = modules(PACKAGE)


def ids(paths):
    return [module_name(p) for p in paths]


def test_the_rules_see_every_module():
    assert len(TOP_LEVEL) >= 8 and len(MACHINERY) >= 10 and len(EXERCISES) >= 10
    assert len(CHAPTERS) >= 10
    assert "d2lcnn.chapters.conv_layer" in imports(PACKAGE / "chapters" / "channels.py")


@pytest.mark.parametrize("path", CHAPTERS, ids=ids(CHAPTERS))
def test_chapters_import_torch_and_earlier_chapters_only(path):
    from d2lcnn.chapters import MODULES

    order = [m.__name__ for m in MODULES]
    name = module_name(path)
    for imported in imports(path) - {"d2lcnn.chapters"}:
        assert under(imported, "d2lcnn.chapters"), f"{name} imports {imported}"
        chapter = ".".join(imported.split(".")[:3])  # d2lcnn.chapters.<module>[.<name>]
        if name != "d2lcnn.chapters":
            assert order.index(chapter) < order.index(name), f"{name} imports later {chapter}"


@pytest.mark.parametrize("path", EXERCISES, ids=ids(EXERCISES))
def test_exercises_import_the_registry_case_kinds_and_common_only(path):
    """Content: references on torch's own ops, never the course's generated answers."""
    allowed = {
        "d2lcnn.grading.registry",
        "d2lcnn.grading.modules",  # the case kind of nn.Module exercises
        "d2lcnn.grading.exercises.common",
        "d2lcnn.grading.exercises.mistaken",  # known mistakes, shared like common
        "d2lcnn.grading.stand_in",  # references on the forbidden library op, shipped as stand-ins
    }
    for imported in imports(path):
        assert any(under(imported, a) for a in allowed) or imported == "d2lcnn.grading", (
            f"{module_name(path)} imports {imported}"
        )


@pytest.mark.parametrize("path", MACHINERY, ids=ids(MACHINERY))
def test_machinery_reaches_exercises_only_through_the_registry(path):
    for imported in imports(path):
        assert not under(imported, "d2lcnn.grading.exercises"), (
            f"{module_name(path)} imports {imported}; use registry.load_all()"
        )
        assert not under(imported, "d2lcnn.chapters"), f"{module_name(path)} imports {imported}"
        # outside grading/: only the package itself (the preamble's `import d2lcnn`)
        assert under(imported, "d2lcnn.grading") or imported == "d2lcnn", (
            f"{module_name(path)} imports {imported}"
        )


@pytest.mark.parametrize("path", TOP_LEVEL, ids=ids(TOP_LEVEL))
def test_hand_written_modules_leave_chapters_to_the_package(path):
    if path.name == "__init__.py":
        pytest.skip("d2lcnn/__init__.py re-exports the chapters: its one job")
    for imported in imports(path):
        assert not under(imported, "d2lcnn.chapters"), f"{module_name(path)} imports {imported}"
        assert not under(imported, "d2lcnn.grading.exercises"), (
            f"{module_name(path)} imports {imported}"
        )
