"""How long does the class report take on a realistic class? And is it right about copies?

Builds a class: the repository's grading corpus plus N generated submissions, made
from the corpus's correct solutions by the known mistakes (kernel flipped, output
one row short, sum instead of mean, min instead of max, stacked on the wrong axis,
1x1 kernel transposed) and by renamed copies (every local name changed, comments
added, statements reordered). Grades it with `d2lcnn grade`, then times
`d2lcnn report` (the whole command, interpreter start-up included) and prints what
the report flagged.

    .venv/bin/python bench/report_class.py [--n 200] [--jobs 2] [--out /tmp/report-bench] [--report-only]
"""

import argparse
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "grading_corpus"
LOOP = (CORPUS / "correct_loop.py").read_text()
VECTORIZED = (CORPUS / "correct_vectorized.py").read_text()

# (name, source, old text, new text): the known mistakes, applied to a correct solution
MISTAKES = [
    (
        "one_row_short",
        LOOP,
        "X.shape[0] - h + 1, X.shape[1] - w + 1",
        "X.shape[0] - h, X.shape[1] - w + 1",
    ),
    (
        "kernel_flipped",
        LOOP,
        "(X[i:i + h, j:j + w] * K).sum()",
        "(X[i:i + h, j:j + w] * K.flip(0, 1)).sum()",
    ),
    ("sum_not_mean", LOOP, "X[i: i + p_h, j: j + p_w].mean()", "X[i: i + p_h, j: j + p_w].sum()"),
    ("min_not_max", LOOP, "X[i: i + p_h, j: j + p_w].max()", "X[i: i + p_h, j: j + p_w].min()"),
    ("stacked_on_axis_1", LOOP, "for k in K], 0)", "for k in K], 1)"),
    ("1x1_transposed", LOOP, "K = K.reshape((c_o, c_i))", "K = K.reshape((c_i, c_o)).T"),
    ("vec_sum_not_mean", VECTORIZED, "W.mean(dim=(-2, -1))", "W.sum(dim=(-2, -1))"),
    (
        "vec_kernel_flipped",
        VECTORIZED,
        "windows(X, *K.shape), K)",
        "windows(X, *K.shape), K.flip(0, 1))",
    ),
]
RENAMES = [
    {"Y": "out", "h": "kh", "w": "kw", "i": "r", "j": "c", "p_h": "ph", "p_w": "pw"},
    {"Y": "result", "h": "n_rows", "w": "n_cols", "X": "img", "K": "kern", "k": "kk", "x": "xx"},
    {"Y": "acc", "i": "row", "j": "col", "c_i": "cin", "c_o": "cout", "mode": "mode"},
]


def renamed(source, names, rng):
    """A disguised copy: names changed, comments added, two independent lines swapped."""
    for old, new in names.items():
        source = re.sub(rf"\b{re.escape(old)}\b", new, source)
    lines = source.splitlines()
    out = []
    for line in lines:
        out.append(line)
        if line.startswith("def ") and rng.random() < 0.7:
            out.append("    # my own solution, written from scratch")
    text = "\n".join(out) + "\n"
    # c_i, h, w = X.shape and c_o = K.shape[0] are independent: swap them
    return re.sub(r"(    \w+, \w+, \w+ = \w+\.shape\n)(    \w+ = \w+\.shape\[0\]\n)", r"\2\1", text)


def make_class(folder, n, seed=0):
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    kinds = []
    for i in range(n):
        if i % 5 == 4:  # one in five: a renamed copy of the book-style solution
            text, kind = renamed(LOOP, rng.choice(RENAMES), rng), "renamed_copy"
        else:
            kind, source, old, new = rng.choice(MISTAKES)
            assert old in source, kind
            text = source.replace(old, new)
        (folder / f"student{i:03d}_{kind}.py").write_text(f"# student {i}\n{text}")
        kinds.append(kind)
    return kinds


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_report(grades):
    """Run `d2lcnn report` on ``grades``; print its summary, wall and CPU time."""
    t0, cpu0 = time.monotonic(), _children_cpu()
    report = subprocess.run(
        [sys.executable, "-m", "d2lcnn.cli", "report", grades],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    seconds, cpu = time.monotonic() - t0, _children_cpu() - cpu0
    print(report.stdout or report.stderr)
    page = (grades / "report.html").read_text()
    print(
        f"d2lcnn report: {seconds:.1f} s wall, {cpu:.1f} s CPU (the whole command, start-up "
        f"included; load average {os.getloadavg()[0]:.1f}), {len(page) / 1e6:.2f} MB of HTML, "
        f"{page.count('<figure')} figures"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default="/tmp/report-bench")
    parser.add_argument("--report-only", action="store_true", help="reuse OUT's graded class")
    args = parser.parse_args()
    out = Path(args.out)
    grades = out / "grades"
    if not args.report_only:
        shutil.rmtree(out, ignore_errors=True)
        kinds = make_class(out / "generated", args.n)
        print(
            f"class: {len(list(CORPUS.iterdir())) + args.n} submissions ({args.n} generated: "
            + ", ".join(f"{k} {kinds.count(k)}" for k in sorted(set(kinds)))
            + ")"
        )
        t0 = time.monotonic()
        command = [sys.executable, "-m", "d2lcnn.cli", "grade", CORPUS, out / "generated"]
        command += ["--out", grades, "--jobs", str(args.jobs), "--timeout", "3", "--no-report"]
        proc = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        print(proc.stdout.splitlines()[-1] if proc.stdout else proc.stderr[-2000:])
        print(f"d2lcnn grade: {time.monotonic() - t0:.1f} s")
    time_report(grades)


if __name__ == "__main__":
    main()
