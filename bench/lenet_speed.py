"""LeNet training speed: the book's d2l loader + train_ch6 against d2lcnn's, in one run.

Both train the book's LeNet (sigmoid, average pooling) with SGD, lr 0.9,
batch 256, on the CPU, from the same Fashion-MNIST files, offline. For each we
report the examples/sec that ``train_ch6`` prints (training batches only, the
book's measure), the wall-clock examples/sec of the whole run (building the
loaders, every epoch, and the test-set evaluation after each epoch), and the CPU
seconds the run used (its own and its loader workers'; OpenMP threads that spin
while waiting count too).

    .venv/bin/python bench/lenet_speed.py               # 1 epoch each
    .venv/bin/python bench/lenet_speed.py --full        # plus d2lcnn's 10-epoch book run
    .venv/bin/python bench/lenet_speed.py --threads 1   # torch.set_num_threads(1) first

On a shared machine the figures move with the load from other processes: run
it more than once and compare figures from the same run only. Both runs execute
the same torch kernels for the same model, so the gap comes from around them:
the book's four loader worker processes compete with torch's threads for the
cores (and cost CPU time: see the CPU column), and on a busy CPU its two
OpenMP threads spin while waiting for each other, whereas d2lcnn slices batches
in-process and falls back to one thread when that is faster. With
``--threads 1`` both are compute-bound and the gap narrows to the loader's cost.
"""

import argparse
import contextlib
import io
import os
import re
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.pop("D2LCNN_QUICK", None)  # the benchmark always measures full epochs
import matplotlib

matplotlib.use("Agg")  # d2l's Animator draws with pyplot; no window, no inline display
import torch

import d2lcnn
from d2lcnn import data

BATCH_SIZE, LR = 256, 0.9
ROOT = Path(__file__).resolve().parents[1]


def stage_raw_files(root):
    """Put the decompressed IDX files where torchvision looks, so d2l never downloads."""
    raw = root / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name, (path, _) in data.find_fashion_mnist().items():
        (raw / name).write_bytes(data._verified_bytes(path, name))


def cpu_seconds():
    """CPU time used so far by this process and its finished children (d2l's loader workers)."""
    return sum(
        getattr(resource.getrusage(who), f)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )


def measured(run, num_epochs):
    """``run(num_epochs)`` plus the CPU seconds it used."""
    start = cpu_seconds()
    ex_per_sec, wall, test_acc = run(num_epochs)
    return ex_per_sec, wall, cpu_seconds() - start, test_acc


def run_book(num_epochs):
    """d2l.load_data_fashion_mnist + d2l.train_ch6; returns (printed ex/s, wall s, test acc)."""
    from d2l import torch as d2l

    # The Animator would print "<Figure ...>" on every update in a script; its
    # 1-epoch x axis (xlim [1, 1]) also warns.
    warnings.filterwarnings("ignore", message="Attempting to set identical")
    d2l.display.display = d2l.display.clear_output = lambda *args, **kwargs: None
    printed = io.StringIO()
    start = time.perf_counter()
    train_iter, test_iter = d2l.load_data_fashion_mnist(BATCH_SIZE)
    with contextlib.redirect_stdout(printed):
        d2l.train_ch6(d2lcnn.lenet(), train_iter, test_iter, num_epochs, LR, torch.device("cpu"))
    wall = time.perf_counter() - start
    text = printed.getvalue()
    ex_per_sec = float(re.search(r"([\d.]+) examples/sec", text).group(1))
    test_acc = float(re.search(r"test acc ([\d.]+)", text).group(1))
    return ex_per_sec, wall, test_acc


def run_ours(num_epochs):
    """d2lcnn.load_data_fashion_mnist + d2lcnn.train_ch6; returns (ex/s, wall s, test acc)."""
    start = time.perf_counter()
    train_iter, test_iter = d2lcnn.load_data_fashion_mnist(BATCH_SIZE)
    with contextlib.redirect_stdout(io.StringIO()):
        metrics = d2lcnn.train_ch6(
            d2lcnn.lenet(), train_iter, test_iter, num_epochs, LR, torch.device("cpu")
        )
    return metrics.examples_per_sec, time.perf_counter() - start, metrics.test_acc


def report(name, num_epochs, result):
    ex_per_sec, wall, cpu, test_acc = result
    wall_rate = num_epochs * 60000 / wall
    print(
        f"{name:28s} {ex_per_sec:12,.0f} {wall_rate:12,.0f} {wall:9.1f} {cpu:9.1f} {test_acc:9.3f}",
        flush=True,
    )
    return ex_per_sec, wall_rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="epochs of each 1:1 run")
    parser.add_argument(
        "--full",
        action="store_true",
        help="also run d2lcnn's full book run: 10 epochs, lr 0.9, batch 256",
    )
    parser.add_argument("--threads", type=int, help="torch.set_num_threads before training")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'':28s} {'ex/s printed':>12} {'ex/s wall':>12} {'wall s':>9} {'CPU s':>9} {'test acc':>9}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        stage_raw_files(Path(tmp))
        work = Path(tmp) / "work"  # d2l reads root="../data"
        work.mkdir()
        os.chdir(work)
        try:
            torch.manual_seed(0)
            book = report(
                f"d2l (book), {args.epochs} epoch(s)", args.epochs, measured(run_book, args.epochs)
            )
            torch.manual_seed(0)
            ours = report(
                f"d2lcnn, {args.epochs} epoch(s)", args.epochs, measured(run_ours, args.epochs)
            )
        finally:
            os.chdir(ROOT)  # leave the temporary folder before it is deleted
    print(f"speed-up: {ours[0] / book[0]:.1f}x (printed), {ours[1] / book[1]:.1f}x (wall)")
    if args.full:
        torch.manual_seed(0)
        report("d2lcnn, 10 epochs (book run)", 10, measured(run_ours, 10))
    return 0


if __name__ == "__main__":
    sys.exit(main())
