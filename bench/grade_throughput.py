"""How fast does `d2lcnn grade` go, against running each student notebook?

Grades 100 submissions made from tests/grading_corpus (correct, wrong, broken
and the quick hostile ones of the conv/pool exercises; each copy differs by a comment so none is
skipped), prints submissions per minute, then times one execution of a whole
notebook with nbclient (what "run the notebook and read the outputs" grading
costs) and extrapolates it to 100 submissions.

    .venv/bin/python bench/grade_throughput.py [--n 100] [--jobs 2] [--notebook solutions/02_conv_layer.ipynb]
"""

import argparse
import itertools
import os
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "grading_corpus"
# hostile files that wait for the timeout (endless loops, floods, fork bombs) would measure the timeout
SLOW = {"hostile_infinite_loop.py", "hostile_flood.py", "hostile_processes.py"}


def make_class(folder, n):
    # the conv/pool assignments' submissions: the nn.Module exercises (blocks_*) are timed
    # by bench/module_exercises.py
    sources = sorted(
        p for p in CORPUS.iterdir() if p.name not in SLOW and not p.name.startswith("blocks_")
    )
    for i, src in zip(range(n), itertools.cycle(sources)):
        dst = folder / f"student{i:03d}_{src.name}"
        shutil.copy(src, dst)
        if dst.suffix == ".py":
            with dst.open("a") as f:
                f.write(f"\n# submission {i}\n")
    return sources


def time_grading(n, jobs):
    from d2lcnn.grading.runner import grade

    with tempfile.TemporaryDirectory() as tmp:
        subs = Path(tmp) / "class"
        subs.mkdir()
        make_class(subs, n)
        start = time.perf_counter()
        batch = grade(
            [subs], Path(tmp) / "out", jobs=jobs, seed=1, timeout=10, log=lambda line: None
        )
        seconds = time.perf_counter() - start
    assert len(batch.graded) == n, batch
    return seconds


def time_notebook(path):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        nb,
        timeout=1800,
        kernel_name="python3",
        resources={"metadata": {"path": str(Path(path).parent)}},
    ).execute()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="submissions to grade")
    parser.add_argument("--jobs", type=int, default=2, help="grading workers")
    parser.add_argument(
        "--notebook",
        default=str(ROOT / "solutions" / "02_conv_layer.ipynb"),
        help="the notebook nbclient runs once",
    )
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} "
        "(timings on a shared machine are noisy)"
    )
    seconds = time_grading(args.n, args.jobs)
    rate = args.n / seconds * 60
    print(
        f"d2lcnn grade: {args.n} submissions in {seconds:.1f} s with --jobs {args.jobs} "
        f"= {rate:.0f} submissions per minute (worker start-up included)"
    )
    one = time_notebook(args.notebook)
    print(
        f"nbclient: one run of {Path(args.notebook).name} takes {one:.1f} s; "
        f"x{args.n} = {one * args.n / 60:.1f} min, one job at a time"
    )
    print(f"grading is {one * args.n / seconds:.0f}x faster than executing every notebook")


if __name__ == "__main__":
    main()
