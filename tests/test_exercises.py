"""Every registered exercise, the same checks: driven by ``d2lcnn.grading.load_all()``.

An exercise added to ``d2lcnn/grading/exercises/`` is tested here without a
line of test code: its reference against the solution notebook's function,
its registration against the notebook's ``def``, the student notebook's stub
and self-check cell, its hidden cases, and its forbidden-call feedback.
What is particular to one chapter (the book's values, the common mistakes a
hidden case must catch) stays in that chapter's test module.
"""

import ast
import contextlib
import inspect
import io
import re
from dataclasses import fields
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
import torch

import d2lcnn
from conftest import (
    ROOT,
    STUB,
    catches,
    cells,
    check_cell,
    defining_cells,
    run_cell,
    solution,
    sources,
)
from d2lcnn.build import BEGIN, END, without_markers
from d2lcnn.grading import Case, load_all
from d2lcnn.grading.compare import compare
from d2lcnn.grading.extract import PREAMBLE, read_submission
from d2lcnn.grading.judge import forbidden_feedback
from d2lcnn.grading.status import exercise_status

EXERCISES = load_all()
NAMES = sorted(EXERCISES)
NOTEBOOKS = sorted({Path(ex.notebook).stem for ex in EXERCISES.values()})
SEEDS = range(4)
# Kinds whose cases call a function and compare what it returns; an exercise
# of another kind (an nn.Module to build, say) is skipped, with the reason, by
# the tests that call a made-up function in its place.
CALLABLE_KINDS = {"function"}

# The exercises the course had when this module was written: none may vanish.
COURSE = {
    "01_dense_to_conv": {"conv_matrix", "conv1d_true", "conv_params"},
    "02_conv_layer": {"corr2d", "conv2d_true", "corr2d_vec"},
    "03_padding_stride": {"corr2d_pad_stride", "corr2d_dilated"},
    "04_channels": {"corr2d_multi_in", "corr2d_multi_in_out", "corr2d_multi_in_out_1x1"},
    "05_pooling": {"pool2d", "pool2d_pad_stride"},
    "06_conv_variants": {"grouped_conv2d", "conv_transpose2d"},
    "07_lenet": {"lenet_flat_features"},
    "08_alexnet": {"alexnet_output_size"},
    "09_vgg": {"vgg_params"},
    "10_nin": {"nin_block_params"},
    "11_googlenet": {"inception_params"},
    "12_batch_norm": {"batch_norm"},
    "13_resnet": {"resnet_stage_shape"},
    "14_densenet": {"dense_block_channels", "transition_shape"},
}


def kind(exercise):
    """``exercise.kind`` if it says; else the class of its cases if not plain ``Case``."""
    explicit = getattr(exercise, "kind", None)
    if explicit:
        return explicit
    special = {type(c).__name__ for c in exercise.public_cases if type(c) is not Case}
    return special.pop() if len(special) == 1 else "function" if not special else "mixed"


def runs_cases(exercise):
    """Skip (with the reason) a test that calls an exercise of a kind it does not know."""
    if kind(exercise) not in CALLABLE_KINDS:
        pytest.skip(f"{exercise.name}: exercise kind {kind(exercise)!r} is not run by this test")


def agree(exercise, case, expected, got):
    """``(passed, message)``: by the case's own comparison where it has one (module probes)."""
    if hasattr(case, "compare"):
        return case.compare(expected, got, exercise.rtol, exercise.atol)
    return compare(expected, got, exercise.rtol, exercise.atol)


def fingerprint(value):
    """A comparable stand-in for a case's input: tensors by dtype, shape and bytes."""
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        return ("tensor", str(t.dtype), tuple(t.shape), t.numpy().tobytes())
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(fingerprint(v) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple(sorted((k, fingerprint(v)) for k, v in value.items())))
    return ("value", repr(value))


def inputs(case):
    """Everything a case feeds the student's code: every field but its label."""
    return tuple(
        (f.name, fingerprint(getattr(case, f.name))) for f in fields(case) if f.name != "label"
    )


def parameters(args):
    """An ``ast.arguments`` as plain data: names and defaults, kind by kind."""
    return (
        [a.arg for a in args.posonlyargs],
        [a.arg for a in args.args],
        args.vararg and args.vararg.arg,
        [a.arg for a in args.kwonlyargs],
        args.kwarg and args.kwarg.arg,
        [ast.unparse(d) for d in args.defaults],
        [d and ast.unparse(d) for d in args.kw_defaults],
    )


def notebook_parameters(notebook, name):
    """The parameters of ``def name`` (or of ``class name``'s ``__init__``, less ``self``)."""
    [index] = defining_cells(notebook, name)
    tree = ast.parse(sources(notebook)[index])
    node = next(n for n in tree.body if getattr(n, "name", None) == name)
    if isinstance(node, ast.ClassDef):
        node = next(n for n in node.body if getattr(n, "name", None) == "__init__")
        node.args.args = node.args.args[1:]
    return parameters(node.args)


# --- the catalogue ---------------------------------------------------------------------------


def test_no_exercise_was_lost():
    for stem, names in COURSE.items():
        for name in names:
            assert name in EXERCISES, f"{name} ({stem}) is no longer registered"
            assert Path(EXERCISES[name].notebook).stem == stem, name


def graded_stubs(stem):
    """Indices of the student notebook's stubs that define a function or class (graded ones)."""
    return [
        i
        for i, (c, t) in enumerate(zip(cells(stem, "notebooks"), sources(stem, "notebooks")))
        if c["cell_type"] == "code" and STUB in t and re.match(r"(def|class) ", t)
    ]


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_and_registry_agree(stem):
    """Every self-check cell names an exercise of its notebook, and so does every graded stub."""
    registered = {n for n, ex in EXERCISES.items() if Path(ex.notebook).stem == stem}
    checked = {
        m.group(1)
        for src in sources(stem)
        for m in re.finditer(r'^d2lcnn\.check\("(\w+)", \1\)$', src, re.M)
    }
    assert checked == registered
    student = sources(stem, "notebooks")
    stubbed = {re.match(r"(?:def|class) (\w+)", student[i]).group(1) for i in graded_stubs(stem)}
    assert stubbed == registered and len(graded_stubs(stem)) == len(registered)


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_the_grader_loads_every_statement_it_keeps(stem, folder):
    """What the grader runs of the course's own notebook raises nothing: a load error there
    would show in every student's feedback as theirs."""
    submission = read_submission(ROOT / folder / f"{stem}.ipynb")
    namespace: dict = {}
    exec(PREAMBLE, namespace)
    for chunk in submission.chunks:
        for node in chunk.kept():
            code = compile(ast.Module([node], []), chunk.filename, "exec")
            exec(code, namespace)  # raises with the cell's name and line


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_notebook_layout(stem):
    """Exercises and questions, answered in marked regions, before any long training run."""
    text = sources(stem)
    posed = sum(len(re.findall(r"^(### (Exercise|Question)|\d+\. \*\*)", t, re.M)) for t in text)
    assert posed >= 3, f"{stem}: {posed} exercises and questions"
    assert all(BEGIN in t and END in t for t in text if t.startswith("### Question"))
    training = [
        i
        for i, (c, t) in enumerate(zip(cells(stem), text))
        if c["cell_type"] == "code" and "train_ch6(" in t
    ]
    for i in training:  # its output varies from run to run
        assert "nbval-ignore-output" in cells(stem)[i]["metadata"].get("tags", []), (stem, i)
    if training:  # CI runs each student notebook up to its first stub: it must come first
        checks = [i for i, t in enumerate(text) if t.startswith("d2lcnn.check(")]
        assert min(checks) < training[0], f"{stem}: the first exercise comes before the training"
        first = next(i for i, t in enumerate(sources(stem, "notebooks")) if "train_ch6(" in t)
        assert min(graded_stubs(stem)) < first, f"{stem}: the first stub comes before the training"


# --- one exercise at a time ------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_registration(name):
    ex = EXERCISES[name]
    assert ex.name == name
    assert ex.notebook.startswith("solutions/") and (ROOT / ex.notebook).is_file()
    assert (ROOT / "notebooks" / Path(ex.notebook).name).is_file()
    assert len(ex.public_cases) >= 2
    assert 0 < ex.points and 0 < ex.rtol < 1e-2 and 0 <= ex.atol < 1e-2
    # The signature shown to students is the notebook's def, defaults included.
    signature = ast.parse(f"def {ex.signature}: pass").body[0]
    assert signature.name == name
    assert parameters(signature.args) == notebook_parameters(ex.notebook, name)


@pytest.mark.parametrize("name", NAMES)
def test_allowed_is_stated(name):
    allowed = EXERCISES[name].allowed
    assert isinstance(allowed, str) and allowed.strip() == allowed and allowed
    # it is quoted inside "Use {allowed} instead."
    assert not allowed.endswith(".") and not allowed.lower().startswith("use ")


@pytest.mark.parametrize("name", NAMES)
def test_notebooks_pose_it(name):
    """A definition cell (the student's is a stub), then the self-check, under an exercise heading."""
    notebook = EXERCISES[name].notebook
    for folder in ("solutions", "notebooks"):
        text = sources(notebook, folder)
        found = defining_cells(notebook, name, folder)
        assert len(found) == 1, f"{folder}/{Path(notebook).name}: {len(found)} cells define {name}"
        assert text[found[0] + 1] == check_cell(name), (
            f"{folder}/{Path(notebook).name}: the cell after {name} must be {check_cell(name)}"
        )
        assert (STUB in text[found[0]]) == (folder == "notebooks")
    [index] = defining_cells(notebook, name)
    above = [
        src
        for c, src in zip(cells(notebook)[:index], sources(notebook))
        if c["cell_type"] == "markdown"
    ]
    marker, cell = next(
        (line, src)
        for src in reversed(above)
        for line in reversed(re.findall(r"^(?:#{1,3} .*|\d+\. \*\*.*)", src, re.M))
    )
    if marker.startswith("#"):  # under its own heading, which quotes it if it quotes code
        assert marker.startswith("### Exercise"), f"{name}: under {marker!r}"
        code = re.search(r"`([^`]+)`", marker)
        assert code is None or re.match(rf"{name}\b", code.group(1)), marker
    else:  # a numbered item of a list of exercises, which names it
        assert re.search(rf"`{name}\b", cell), f"{name}: under {marker!r}, which does not name it"


@pytest.mark.parametrize("name", NAMES)
def test_reference_agrees_with_solution(name):
    ex = EXERCISES[name]
    fn = solution(name)
    # Probing a module (building, filling, forward and backward in two modes) costs about
    # a second a case: one seed's cases for those, four for functions.
    for seed in SEEDS if kind(ex) in CALLABLE_KINDS else SEEDS[:1]:
        cases = ex.cases(seed)
        assert len(cases) >= len(ex.public_cases) + 5
        for case in cases:
            ok, message = agree(ex, case, case.call(ex.reference), case.call(fn))
            assert ok, f"{name}, seed {seed}, {case.label}: {message}"


def solution_with_its_helpers(name):
    """The solution of ``name``, its notebook's earlier exercises defined beside it, as in the
    notebook (``conv2d_true`` calls the notebook's own ``corr2d``, not the course's)."""
    notebook = EXERCISES[name].notebook
    [index] = defining_cells(notebook, name)
    namespace = None
    for other in EXERCISES.values():
        found = defining_cells(notebook, other.name) if other.notebook == notebook else []
        if found and found[0] < index:
            namespace = run_cell(sources(notebook)[found[0]], namespace)
    return run_cell(sources(notebook)[index], namespace)[name]


@pytest.mark.parametrize("name", NAMES)
def test_self_check_passes_on_the_solution(name, capsys):
    runs_cases(EXERCISES[name])
    d2lcnn.check(name, solution_with_its_helpers(name))
    out = capsys.readouterr().out
    assert "all public cases passed" in out and "0 points" not in out, out


@pytest.mark.parametrize("name", [n for n in NAMES if hasattr(d2lcnn, n)])
def test_saved_solution_is_the_notebook_solution(name):
    """Where the book saves an exercise's answer, ``d2lcnn`` exports the notebook's code."""
    [index] = defining_cells(EXERCISES[name].notebook, name)
    cell = without_markers(sources(EXERCISES[name].notebook)[index])
    saved = inspect.getsource(getattr(d2lcnn, name)).strip()
    assert saved == cell.replace("  #@save", "").strip()


@pytest.mark.parametrize("name", NAMES)
def test_hidden_cases_differ_from_public_ones_and_across_seeds(name):
    ex = EXERCISES[name]
    public = {inputs(c) for c in ex.public_cases}
    seeds = [[inputs(c) for c in ex.cases(seed)[len(ex.public_cases) :]] for seed in (0, 1)]
    for seed, hidden in zip((0, 1), seeds):
        assert hidden, f"{name}: no hidden cases"
        repeated = [c.label for c, i in zip(ex.cases(seed)[len(public) :], hidden) if i in public]
        assert not repeated, f"{name}: hidden cases repeat public ones: {repeated}"
    assert seeds[0] != seeds[1], f"{name}: seeds 0 and 1 draw the same hidden cases"


def test_hidden_cases_fail_a_constant_answer():
    """A function that returns the first public case's answer fails some hidden case."""
    for name, ex in EXERCISES.items():
        if kind(ex) in CALLABLE_KINDS:
            answer = ex.public_cases[0].call(ex.reference)
            assert catches(ex, lambda *args, answer=answer, **kwargs: answer), name


# --- forbidden-call feedback quotes the exercise's own alternatives --------------------------


def quoted(message, pattern):
    match = re.search(pattern, message)
    return match and match.group(1)


def a_forbidden_name(ex):
    """A dotted name the exercise forbids (its first library pattern made concrete)."""
    dotted = ex.forbidden[0].replace("*", "")
    assert any(fnmatchcase(dotted, p) for p in ex.forbidden), dotted
    return dotted


def others_allowed(name):
    mine = EXERCISES[name].allowed
    return {ex.allowed for ex in EXERCISES.values() if ex.allowed not in mine}


@pytest.mark.parametrize("name", NAMES)
def test_forbidden_feedback_quotes_only_its_own_alternatives(name):
    ex = EXERCISES[name]
    messages = [forbidden_feedback(ex, f"d2lcnn.{name}")]  # handing back the course's answer
    assert quoted(messages[0], r"Use (.+) instead\.") is None
    if ex.forbidden:
        dotted = a_forbidden_name(ex)
        grader = forbidden_feedback(ex, dotted)
        assert quoted(grader, r"Use (.+) instead\.") == ex.allowed, grader
        messages.append(grader)
        if kind(ex) in CALLABLE_KINDS:
            top = dotted.split(".")[0]
            fn = run_cell(f"def {name}(*args, **kwargs):\n    import {top}\n    return {dotted}\n")[
                name
            ]
            with contextlib.redirect_stdout(io.StringIO()) as out:
                d2lcnn.check(name, fn)
            check = out.getvalue()
            assert quoted(check, r"forbids\. Use (.+) instead\.") == ex.allowed, check
            state = exercise_status(name, fn)
            assert state.state == "forbidden"
            assert quoted(state.next_step, r"which scores 0: use (.+)$") == ex.allowed, state
            messages += [check, state.next_step]
    for message in messages:
        for allowed in others_allowed(name):
            assert allowed not in message, f"{name}'s feedback names {allowed!r}"
