"""The autograder on a corpus of submissions: correct, wrong, broken and hostile.

One `d2lcnn grade` run over the whole corpus (module fixture), then each
file's per-exercise outcome is asserted, plus what must hold for hostile code:
no leftover process, nothing leaked, nothing tampered with.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import SOLUTIONS
from d2lcnn.grading import load_all

CORPUS = Path(__file__).parent / "grading_corpus"
CONV_NOTEBOOK = "solutions/02_conv_layer.ipynb"
REQUIRED = ("corr2d", "pool2d", "corr2d_multi_in", "corr2d_multi_in_out", "corr2d_multi_in_out_1x1")
ALL5 = dict.fromkeys(REQUIRED, "passed")

# file -> {exercise: status}; the other exercises of the chapters named here (of CONV_NOTEBOOK
# for a notebook) are "missing": a submission is graded on its whole assignment
EXPECTED = {
    "correct_loop.py": ALL5,
    "correct_vectorized.py": ALL5,
    "correct_notebook.ipynb": {"corr2d": "passed", "conv2d_true": "error"},
    "correct_imports.py": {"corr2d": "passed"},
    "wrong_off_by_one.py": {"corr2d": "failed", "pool2d": "failed"},
    "wrong_flipped_kernel.py": {"corr2d": "failed", "corr2d_multi_in": "failed"},
    "wrong_transposed.py": {
        "corr2d_multi_in": "passed",
        "corr2d_multi_in_out": "failed",
        "corr2d_multi_in_out_1x1": "failed",
    },
    "wrong_int_truncation.py": {"corr2d": "failed"},
    "wrong_sum_not_mean.py": {"pool2d": "failed"},
    "broken_syntax.py": {"corr2d": "error"},
    "broken_syntax_cell.ipynb": {"corr2d": "passed", "conv2d_true": "error"},
    "broken_missing.ipynb": {},
    "broken_return_type.py": {"corr2d": "failed", "pool2d": "failed"},
    "broken_nan.py": {"corr2d": "failed"},
    "broken_exception.py": {"corr2d": "error"},
    "hostile_infinite_loop.py": {"corr2d": "timeout", "pool2d": "passed"},
    "hostile_exit.py": {"corr2d": "error", "pool2d": "error", "corr2d_multi_in": "passed"},
    "hostile_segfault.py": {"corr2d": "error", "pool2d": "passed"},
    "hostile_memory.py": {"corr2d": "error", "pool2d": "error"},
    # every case leaves two processes running: the job's process cap (8, whole job) runs out
    "hostile_processes.py": {"corr2d": "error", "pool2d": "error"},
    "hostile_flood.py": {"corr2d": "passed", "pool2d": "timeout"},
    "hostile_monkeypatch.py": {"corr2d": "failed", "pool2d": "failed"},
    "hostile_fake_report.py": {"corr2d": "error"},  # forged result lines end the job
    "hostile_files.py": {"corr2d": "failed"},
    "hostile_forbidden_direct.py": {
        "corr2d": "forbidden",
        "pool2d": "forbidden",
        "corr2d_multi_in": "forbidden",
    },
    "hostile_forbidden_aliases.py": {
        **dict.fromkeys(REQUIRED, "forbidden"),
        "conv2d_true": "forbidden",
    },
    "hostile_forbidden_dynamic.py": {
        "corr2d": "forbidden",
        "pool2d": "forbidden",
        "corr2d_multi_in": "forbidden",
    },
    "hostile_reference.py": {
        "corr2d": "forbidden",
        "pool2d": "forbidden",
        "corr2d_multi_in": "passed",
        "corr2d_multi_in_out": "forbidden",
        "corr2d_multi_in_out_1x1": "forbidden",
    },
    "hostile_reference_import.ipynb": {"corr2d": "forbidden", "conv2d_true": "forbidden"},
    # nn.Module exercises (issue 11)
    "blocks_correct_renamed.py": dict.fromkeys(
        ("BatchNorm", "conv_block", "DenseBlock", "Inception", "Residual", "vgg_block"), "passed"
    ),
    "blocks_missing_layer.py": {"vgg_block": "failed", "Bottleneck": "failed"},
    "blocks_relu_misplaced.py": {"Residual": "failed"},
    "blocks_wrong_stride.py": {"Residual": "failed"},
    "blocks_ignores_weights.py": {"vgg_block": "failed", "transition_block": "failed"},
    "blocks_lying_parameters.py": {"Residual": "failed", "conv_block": "passed"},
}

# What the feedback on a module exercise must say: (file, exercise, text).
BLOCK_FEEDBACK = [
    ("blocks_missing_layer.py", "vgg_block", "without its max pooling"),
    ("blocks_missing_layer.py", "Bottleneck", "missing: (8,), (8,)"),
    ("blocks_relu_misplaced.py", "Residual", "applies a ReLU before adding the shortcut"),
    ("blocks_wrong_stride.py", "Residual", "puts the stride on the second 3x3 convolution"),
    ("blocks_ignores_weights.py", "vgg_block", "values differ"),
    ("blocks_lying_parameters.py", "Residual", "missing: (6,), (6, 3, 1, 1)"),
]


TOKEN = "grader-secret-token-0451"  # in the grader's environment: must reach no submission


def grade(*args):
    return subprocess.run(
        [sys.executable, "-m", "d2lcnn.cli", "grade", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, D2LCNN_TEST_TOKEN=TOKEN, D2LCNN_SEED="7"),
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The corpus, plus a second `correct_loop.py` in another folder and an unreadable notebook."""
    root = tmp_path_factory.mktemp("grading")
    shutil.copytree(CORPUS, root / "grading_corpus")
    (root / "other").mkdir()
    shutil.copy(CORPUS / "correct_loop.py", root / "other" / "correct_loop.py")
    (root / "other" / "not_json.ipynb").write_text("{ this is not json")
    out = root / "out"
    proc = grade(
        root / "grading_corpus",
        root / "other",
        SOLUTIONS,
        "--out",
        out,
        "--timeout",
        "6",
    )
    results = {}
    for p in out.glob("*.json"):
        record = json.loads(p.read_text())
        path = Path(record["submission"])
        key = (
            path.relative_to(root)
            if path.is_relative_to(root)
            else path.relative_to(SOLUTIONS.parent)
        )
        results[key.as_posix()] = record
    return root, out, proc, results


def result(run, name):
    return run[3][f"grading_corpus/{name}"]


def test_every_required_exercise_is_registered():
    registry = load_all()
    assert set(REQUIRED) <= set(registry)


def test_corpus_is_all_expected():
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_outcome(run, name):
    record = result(run, name)
    want = dict(EXPECTED[name])
    registry = load_all()
    chapters = {CONV_NOTEBOOK} if name.endswith(".ipynb") else {registry[n].notebook for n in want}
    for e in registry.values():
        if e.notebook in chapters:
            want.setdefault(e.name, "missing")
    got = {n: e["status"] for n, e in record["exercises"].items()}
    assert got == want, {
        n: record["exercises"][n]["feedback"] for n in got if got[n] != want.get(n)
    }
    for e in record["exercises"].values():
        if e["status"] in ("forbidden", "missing"):
            assert e["score"] == 0
        elif e["status"] == "passed":
            assert e["score"] == e["max_score"]
        else:  # partial credit at most
            assert 0 <= e["score"] < e["max_score"]
    assert record["score"] == pytest.approx(sum(e["score"] for e in record["exercises"].values()))


@pytest.mark.parametrize("name, exercise, text", BLOCK_FEEDBACK)
def test_module_feedback_names_what_is_wrong(run, name, exercise, text):
    assert text in result(run, name)["exercises"][exercise]["feedback"]


def test_module_partial_credit_for_the_cases_a_mistake_does_not_touch(run):
    """A stride on the wrong convolution only matters where strides > 1; a hidden shortcut
    only where use_1x1conv=True."""
    for name in ("blocks_wrong_stride.py", "blocks_lying_parameters.py"):
        residual = result(run, name)["exercises"]["Residual"]
        assert 0 < residual["score"] < residual["max_score"]


def test_solution_notebooks_get_full_marks(run):
    """The instructor's own solutions pass their exercises: no false alarm from the sandbox or the checks."""
    solved = {k: r for k, r in run[3].items() if k.startswith("solutions/")}
    assert len(solved) == len(list(SOLUTIONS.glob("*.ipynb")))
    graded = set()
    for record in solved.values():
        assert record["score"] == record["max_score"], {
            n: e["feedback"] for n, e in record["exercises"].items()
        }
        graded |= set(record["exercises"])
    assert graded == set(load_all())  # every registered exercise has its solution


def test_exit_status_and_unreadable_file_reported(run):
    root, out, proc, results = run
    assert proc.returncode == 1, proc.stderr  # graded, but one file could not be read
    assert "not_json.ipynb: not valid JSON" in proc.stderr
    assert len(results) == len(EXPECTED) + 1 + len(list(SOLUTIONS.glob("*.ipynb")))


def test_same_stem_in_two_folders_gets_two_results(run):
    results = run[3]
    a, b = results["grading_corpus/correct_loop.py"], results["other/correct_loop.py"]
    assert a["score"] == b["score"] == 50
    assert len(list(run[1].glob("correct_loop*.json"))) == 2


def test_partial_credit_and_feedback(run):
    trunc = result(run, "wrong_int_truncation.py")["exercises"]["corr2d"]
    assert 0 < trunc["score"] < trunc["max_score"]  # the integer public examples pass
    assert "dtype torch.int64" in trunc["feedback"]
    mean = result(run, "wrong_sum_not_mean.py")["exercises"]["pool2d"]
    assert 0 < mean["score"] < mean["max_score"]  # max pooling is right
    assert "expected" in mean["feedback"] and "got" in mean["feedback"]
    off = result(run, "wrong_off_by_one.py")["exercises"]["pool2d"]["feedback"]
    assert "expected shape (2, 2), got (1, 1)" in off
    boom = result(run, "broken_exception.py")["exercises"]["corr2d"]["feedback"]
    assert "IndexError" in boom or "RuntimeError" in boom
    assert "broken_exception.py, line 10" in boom  # the student's line
    nan = result(run, "broken_nan.py")["exercises"]["corr2d"]["feedback"]
    assert "(NaN)" in nan
    kind = result(run, "broken_return_type.py")["exercises"]
    assert "expected a tensor, got str" in kind["corr2d"]["feedback"]
    assert "got NoneType" in kind["pool2d"]["feedback"]
    syntax = result(run, "broken_syntax.py")["exercises"]["corr2d"]["feedback"]
    assert "syntax error" in syntax and "line 7" in syntax
    forbidden = result(run, "hostile_forbidden_aliases.py")["exercises"]
    assert "torch.nn.functional.conv2d" in forbidden["corr2d"]["feedback"]
    assert "torch.nn.functional.max_pool2d" in forbidden["pool2d"]["feedback"]
    assert "torch.nn.functional.unfold" in forbidden["corr2d_multi_in_out"]["feedback"]
    reference = result(run, "hostile_reference.py")["exercises"]["corr2d"]["feedback"]
    assert "course package's own answer" in reference


@pytest.mark.parametrize(
    "name, exercise, mistake",
    [
        ("wrong_flipped_kernel.py", "corr2d", "kernel flipped"),
        ("wrong_flipped_kernel.py", "corr2d_multi_in", "kernel flipped"),
        ("wrong_off_by_one.py", "corr2d", "last row and column left at zero"),
        ("wrong_off_by_one.py", "pool2d", "one row and column short"),
        ("wrong_sum_not_mean.py", "pool2d", "sum, not average"),
        ("wrong_transposed.py", "corr2d_multi_in_out", "channel axis last"),
        ("wrong_transposed.py", "corr2d_multi_in_out_1x1", "kernel reshaped as (c_i, c_o)"),
    ],
)
def test_known_mistakes_named_and_recorded(run, name, exercise, mistake):
    graded = result(run, name)["exercises"][exercise]
    failed = [c for c in graded["cases"] if c["status"] == "failed"]
    assert failed and {c.get("mistake") for c in failed} == {mistake}
    assert load_all()[exercise].mistakes[mistake][1] in graded["feedback"]
    assert not any(
        "mistake" in c for c in result(run, "correct_loop.py")["exercises"]["corr2d"]["cases"]
    )


def test_feedback_shows_labels_never_hidden_inputs(run):
    for record in run[3].values():
        for e in record["exercises"].values():
            assert "tensor([" not in e["feedback"]
    # hostile_processes prints in every case; only the public cases' output is shown
    shown = result(run, "hostile_processes.py")["exercises"]["corr2d"]["output"]
    assert shown.count("started child") == len(load_all()["corr2d"].public_cases)


def test_no_process_outlives_grading(run):
    # the pids are the job's own (its PID namespace): nothing the job started is left anywhere
    out = result(run, "hostile_processes.py")["exercises"]["corr2d"]["output"]
    assert "started child" in out
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            assert b"sleep\x001000" not in cmdline.read_bytes(), cmdline
        except OSError:
            continue  # gone


def test_stdout_flood_is_truncated(run):
    e = result(run, "hostile_flood.py")["exercises"]
    assert len(e["corr2d"]["output"]) < 2200
    assert "more bytes of output not shown" in e["corr2d"]["output"]
    assert len(e["pool2d"]["output"]) < 2200


def test_fake_reports_and_patches_change_nothing(run):
    fake = result(run, "hostile_fake_report.py")
    assert fake["score"] == 0 and '"score": 100' in fake["exercises"]["corr2d"]["output"]
    assert result(run, "hostile_monkeypatch.py")["score"] == 0


def test_grader_files_and_network_out_of_reach(run):
    root, out, proc, results = run
    printed = result(run, "hostile_files.py")["exercises"]["corr2d"]["output"]
    assert "found" in printed
    # pid 1 is the job itself (its own PID namespace), whose environment is the worker's short
    # list (PATH, HOME...), never the grader's
    leaks = [line for line in printed.splitlines() if line.startswith("LEAKED")]
    assert all(line.startswith("LEAKED environ of 1:") for line in leaks), printed
    assert TOKEN not in printed and "D2LCNN_TEST_TOKEN" not in printed
    # no process of the grader is visible (the job's own PID namespace), so no path was found;
    # tests/security/test_isolation.py tries the known paths
    assert "found []" in printed
    assert "hostile_files,x,100" not in (out / "gradebook.csv").read_text()
    assert (
        "my environment: ['HOME', 'LANG', 'MKL_NUM_THREADS', 'OMP_NUM_THREADS', 'PATH', 'TMPDIR']"
        in printed
    )
    if os.getuid() == 0:
        assert "no network" in printed


def test_gradescope_format(run):
    for record in run[3].values():
        assert {"score", "max_score", "tests", "execution_time", "output", "exercises"} <= set(
            record
        )
        for t in record["tests"]:
            assert set(t) == {"name", "score", "max_score", "status", "output", "visibility"}
            assert t["status"] in ("passed", "failed")
        for e in record["exercises"].values():
            assert e["status"] in ("passed", "failed", "error", "timeout", "forbidden", "missing")


def test_gradebook(run):
    root, out, proc, results = run
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert len(rows) == len(results)
    by_result = {r["result"]: r for r in rows}
    loop = (
        by_result["correct_loop.json"]
        if "correct_loop.json" in by_result
        else next(r for r in rows if r["submission"].endswith("grading_corpus/correct_loop.py"))
    )
    assert float(loop["score"]) == 50 and float(loop["corr2d"]) == 10
    # its chapters' other exercises: 02_conv_layer's 2, 04_channels' 0, 05_pooling's 1
    assert float(loop["max_score"]) == 80 and loop["conv2d_true"] == "0.0"
    assert (
        loop["problems"] == "conv2d_true: missing; corr2d_vec: missing; pool2d_pad_stride: missing"
    )
    assert oct(out.stat().st_mode & 0o777) == "0o700"


def cli(capsys, *args):
    """``d2lcnn grade ARGS`` in this process: (exit status, stdout, stderr)."""
    from d2lcnn.cli import main

    status = main(["grade", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_rerun_skips_graded_and_force_regrades(run, capsys):
    root, out, proc, results = run
    before = (out / "gradebook.csv").read_text()
    files = [
        root / "grading_corpus" / "correct_loop.py",
        root / "grading_corpus" / "wrong_sum_not_mean.py",
    ]
    seed = root / "seed"
    seed.write_text("7\n")
    status, stdout, stderr = cli(capsys, *files, "--out", out, "--seed-file", seed)
    assert status == 0, stderr
    assert "0 graded, 2 already up to date" in stdout
    assert (out / "gradebook.csv").read_text() == before
    target = next(out.glob("wrong_sum_not_mean*.json"))
    target.unlink()  # as if the batch had been interrupted before it
    status, stdout, stderr = cli(
        capsys, *files, "--out", out, "--seed-file", seed, "--force", "--exercises", "corr2d,pool2d"
    )
    assert status == 0, stderr
    assert "2 graded" in stdout
    assert json.loads(target.read_text())["exercises"]["pool2d"]["status"] == "failed"


def test_usage_errors(tmp_path, capsys):
    status, _, err = cli(capsys, tmp_path / "nope.ipynb", "--out", tmp_path / "out")
    assert status == 2 and "nope.ipynb: no such file or folder" in err
    (tmp_path / "notes.txt").write_text("hi")
    status, _, err = cli(capsys, tmp_path / "notes.txt", "--out", tmp_path / "out")
    assert status == 2 and "not a notebook (.ipynb) or Python file" in err
    (tmp_path / "a.py").write_text("def corr2d(X, K):\n    return X\n")
    status, _, err = cli(
        capsys, tmp_path / "a.py", "--out", tmp_path / "out", "--exercises", "corr3d"
    )
    assert status == 2 and "unknown corr3d" in err
    status, _, err = cli(capsys, tmp_path / "a.py", "--out", tmp_path / "out", "--seed", "7")
    assert status == 2 and "--seed-file" in err and "D2LCNN_SEED" in err


def test_worker_that_cannot_start_stops_the_batch(tmp_path, capsys, monkeypatch):
    from d2lcnn.grading import pool

    monkeypatch.setattr(pool.sys, "executable", "/bin/false")
    (tmp_path / "a.py").write_text("def corr2d(X, K):\n    return X\n")
    status, _, err = cli(capsys, tmp_path / "a.py", "--out", tmp_path / "out")
    assert status == 3 and "failed to start" in err and "run the command again to resume" in err


def test_references_are_computed_on_one_thread_like_the_children(tmp_path, monkeypatch):
    """Torch sums in another order on two threads than on one (a batch-norm layer's input
    gradient moved by 1e-4): the grader's references use one thread, as its children do."""
    import torch

    from d2lcnn.grading.runner import Grader

    grader = Grader(tmp_path, "secret", 5.0, print)
    grader.pool = SimpleNamespace(workers=[None, None])
    seen = []
    monkeypatch.setattr(
        grader, "grade_submission", lambda item: seen.append(torch.get_num_threads())
    )
    before = torch.get_num_threads()
    grader.grade_all([1, 2, 3], None)
    assert seen == [1, 1, 1] and torch.get_num_threads() == before
