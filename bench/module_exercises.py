"""How long does the grader spend on each nn.Module exercise of one submission?

Two figures per exercise, on the course's own solutions (taken from the solution
notebooks):

* probe: CPU seconds to run every case (public and hidden) on the solution in one
  process with one torch thread, which is what the sandboxed child does;
* grade: wall and CPU seconds (grader, worker and sandboxed children together) per
  exercise of `d2lcnn grade --jobs 1` on submissions that define all the block
  exercises, worker start-up included, so forking, loading the definitions and the
  grader's side (references, comparison) count too. On a busy machine the CPU figure
  is the one to read.

    .venv/bin/python bench/module_exercises.py [--n 3]
"""

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def solution_sources(exercises):
    """The solution cells that define the exercises (and what they call), markers removed."""
    wanted = {e.name for e in exercises} | {"batch_norm"}  # BatchNorm calls batch_norm
    sources = []
    for path in sorted((ROOT / "solutions").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            src = "".join(cell["source"])
            first = src.split("(")[0].split()
            if cell["cell_type"] == "code" and first[:1] in (["def"], ["class"]):
                if first[1] in wanted:
                    lines = [ln for ln in src.splitlines() if ln.strip() not in MARKERS]
                    sources.append("\n".join(lines))
    return "import torch\nfrom torch import nn\nfrom torch.nn import functional as F\n\n" + (
        "\n\n\n".join(sources) + "\n"
    )


def cpu_seconds():
    """CPU time of this process and its reaped children (the workers and their sandboxes)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def probe_seconds(exercise, namespace):
    torch.set_num_threads(1)
    fn = namespace[exercise.name]
    start = time.process_time()
    for case in exercise.cases(0):
        case.call(fn)
    return time.process_time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3, help="submissions to grade after the warm-up")
    args = parser.parse_args()

    from d2lcnn.grading import load_all
    from d2lcnn.grading.modules import ModuleCase
    from d2lcnn.grading.runner import grade

    exercises = [e for e in load_all().values() if isinstance(e.public_cases[0], ModuleCase)]
    source = solution_sources(exercises)
    namespace: dict = {}
    exec(compile(source, "<solutions>", "exec"), namespace)
    probe = {e.name: probe_seconds(e, namespace) for e in exercises}

    names = ",".join(e.name for e in exercises)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        for i in range(args.n):
            (folder / f"student{i}.py").write_text(source + f"\n# submission {i}\n")
        start, cpu0 = time.monotonic(), cpu_seconds()
        grade(
            [folder],
            Path(tmp) / "out",
            jobs=1,
            seed=1,
            exercises=names.split(","),
            log=lambda m: None,
        )
        wall, cpu = time.monotonic() - start, cpu_seconds() - cpu0
        records = [json.loads(p.read_text()) for p in (Path(tmp) / "out").glob("student*.json")]
    per_exercise = wall / (args.n * len(exercises))
    cpu_per_exercise = cpu / (args.n * len(exercises))
    scores = {r["score"] == r["max_score"] for r in records}
    print(f"{'exercise':<18} {'cases':>5} {'probe CPU s':>11}")
    for e in exercises:
        print(f"{e.name:<18} {len(e.cases(0)):>5} {probe[e.name]:>11.3f}")
    print(
        f"d2lcnn grade --jobs 1: {args.n} submissions x {len(exercises)} exercises in {wall:.1f} s, "
        f"{per_exercise:.2f} s wall, {cpu_per_exercise:.2f} s CPU per exercise per submission "
        f"(all full marks: {scores == {True}})"
    )


if __name__ == "__main__":
    main()
