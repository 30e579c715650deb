"""Reproduce the book's modern-CNN results table on whatever device is present.

Each model trains with the book's setting (10 epochs of SGD on Fashion-MNIST,
the book's learning rate, batch size and input size), or with ``--cpu-setting``
with the CPU setting its notebook uses when there is no GPU (fewer training
images and epochs, smaller images: ``d2lcnn.settings``). One row per model is
written beside the figures the book published for a V100:

    .venv/bin/python bench/reproduce.py --models bn_lenet_scratch,bn_lenet,lenet
    .venv/bin/python bench/reproduce.py --cpu-setting     # the seven notebooks' CPU runs (~40 min)
    .venv/bin/python bench/reproduce.py --notebooks       # execute notebooks 08-14, record their runs
    .venv/bin/python bench/reproduce.py                    # every model (hours on a CPU)
    .venv/bin/python bench/reproduce.py --models resnet18 --bf16   # on a GPU
    .venv/bin/python bench/reproduce.py --models lenet --quick     # smoke test, writes nothing

On the CPU the models train with ``d2lcnn.train_ch6``. On CUDA they train the
way a practitioner would: data kept on the device (``train_iter.to(device)``),
``channels_last`` memory format, optionally bf16 autocast (``--bf16``); the
book's own loop (``d2l.train_ch6`` style: batches on the host, copied and read
back every step) is then timed on the same device, 200 batches after 5 untimed
ones, so the table shows both throughputs from the same card.

With ``--notebooks`` the solution notebooks 08-14 themselves are executed top
to bottom, in place, as a student would run them (each picks its setting from
the device: the CPU setting on a CPU); their stored outputs become these runs,
each row is read from the notebook's ``train_ch6`` output, and its wall time is
the whole notebook's.

Rows accumulate in ``results/results.json`` per (model, device, setting): a new
run replaces the row of the same model on the same device with the same
setting and keeps the others. ``results/RESULTS.md`` and the section of
README.md between ``<!-- results:start -->`` and ``<!-- results:end -->`` are
rewritten from it.
"""

import argparse
import datetime
import json
import os
import platform
import re
import resource
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- results:start -->", "<!-- results:end -->"

# name: (constructor in d2lcnn, its arguments, key of its setting in d2lcnn.settings).
MODELS = {
    "lenet": ("lenet", {}, "lenet"),
    "bn_lenet_scratch": ("bn_lenet", {"scratch": True}, "bn_lenet"),
    "bn_lenet": ("bn_lenet", {"scratch": False}, "bn_lenet"),
    "alexnet": ("alexnet", {}, "alexnet"),
    "vgg11": ("vgg11", {"ratio": 4}, "vgg11"),
    "nin": ("nin", {}, "nin"),
    "googlenet": ("googlenet", {}, "googlenet"),
    "resnet18": ("resnet18", {}, "resnet18"),
    "densenet": ("densenet", {}, "densenet"),
}
# Their dense head depends on the input size: the constructor takes it.
SIZED = {"alexnet", "vgg11"}
# What the notebooks 08-14 train.
NOTEBOOK_MODELS = [
    "alexnet",
    "vgg11",
    "nin",
    "googlenet",
    "bn_lenet_scratch",
    "bn_lenet",
    "resnet18",
    "densenet",
]

# The solution notebooks 08-14 and the models their train_ch6 cells train, in order.
NOTEBOOKS = {
    "08_alexnet": ["alexnet"],
    "09_vgg": ["vgg11"],
    "10_nin": ["nin"],
    "11_googlenet": ["googlenet"],
    "12_batch_norm": ["bn_lenet_scratch", "bn_lenet"],
    "13_resnet": ["resnet18"],
    "14_densenet": ["densenet"],
}
# The last two lines train_ch6 prints.
FINAL_LINES = re.compile(
    r"loss ([\d.]+), train acc ([\d.]+), test acc ([\d.]+)\s+([\d.]+) examples/sec on"
)

# The book's published results (Chinese edition, PyTorch, 10 epochs, one V100):
# (train loss, train acc, test acc, examples/sec).
BOOK_V100 = {
    "lenet": (0.469, 0.823, 0.779, 55297),
    "alexnet": (0.331, 0.878, 0.883, 3942),
    "vgg11": (0.178, 0.935, 0.920, 2464),
    "nin": (0.563, 0.786, 0.790, 3088),
    "googlenet": (0.262, 0.900, 0.886, 3266),
    "bn_lenet_scratch": (0.273, 0.899, 0.807, 32294),
    "bn_lenet": (0.267, 0.902, 0.708, 50597),
    "resnet18": (0.012, 0.997, 0.893, 5033),
    "densenet": (0.140, 0.948, 0.885, 5626),
}


def parse_models(text):
    """The model names in ``text`` (comma-separated), checked against MODELS."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        raise SystemExit(
            f"reproduce.py: unknown model(s) {', '.join(unknown) or '(none given)'} "
            f"in --models; choose from {','.join(MODELS)}"
        )
    return names


def setting_of(name, cpu_setting=False):
    """The ``d2lcnn.settings.Setting`` model ``name`` trains with: the book's, or its CPU one."""
    from d2lcnn.settings import BOOK_SETTINGS, CPU_SETTINGS

    key = MODELS[name][2]
    return CPU_SETTINGS[key] if cpu_setting else BOOK_SETTINGS[key]


def build(name, resize=None):
    """A fresh network for model ``name`` and images of size ``resize``, from d2lcnn's chapters."""
    import d2lcnn

    fn_name, kwargs, _ = MODELS[name]
    fn = getattr(d2lcnn, fn_name, None)
    if fn is None:
        raise SystemExit(
            f"reproduce.py: d2lcnn has no {fn_name}() for model {name!r}: its chapter "
            "notebook is missing or not built (run `d2lcnn build`)"
        )
    if name in SIZED and resize is not None:
        kwargs = {**kwargs, "input_size": resize}
    return fn(**kwargs)


def device_label(device, bf16=False):
    """What the table calls the device: the GPU's name, or the CPU model and core count."""
    if device.type == "cuda":
        label = torch.cuda.get_device_name(device)
    else:
        model = platform.processor() or platform.machine()
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        label = f"CPU, {os.cpu_count()} cores ({model})"
    return label + (", bf16 autocast" if bf16 else "")


def init_weights(m):
    """The book's initialization (what ``train_ch6`` does): Xavier-uniform weights."""
    if type(m) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(m.weight)


def _sync(device):
    """Wait for queued GPU work so that timings are true (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_fast(net, train_iter, test_iter, num_epochs, lr, device, bf16=False):
    """SGD on a GPU the way a practitioner would; returns d2lcnn's ``Metrics``.

    Data stays on the device, activations are channels_last, the host reads the
    running sums once per epoch, and bf16 autocast is optional. Same optimizer,
    loss and initialization as ``train_ch6``, so the accuracies are comparable.
    """
    from d2lcnn import Metrics, evaluate_accuracy_gpu

    wall = time.perf_counter()
    torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick its fastest kernels
    net.apply(init_weights)
    net.to(device, memory_format=torch.channels_last)
    train_iter, test_iter = train_iter.to(device), test_iter.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    train_seconds = 0.0
    for epoch in range(num_epochs):
        net.train()
        sums, n = torch.zeros(2, device=device), 0  # (loss summed over examples, correct)
        _sync(device)
        tik = time.perf_counter()
        for X, y in train_iter:
            X = X.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                y_hat = net(X)
                l = loss(y_hat, y)
            optimizer.zero_grad(set_to_none=True)
            l.backward()
            optimizer.step()
            with torch.no_grad():
                correct = (y_hat.argmax(dim=1) == y).sum()
                sums += torch.stack((l.float() * len(y), correct.float()))
            n += len(y)
        _sync(device)
        train_seconds += time.perf_counter() - tik
        train_l, train_acc = (sums / n).tolist()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            test_acc = evaluate_accuracy_gpu(net, test_iter, device)
        print(
            f"epoch {epoch + 1}/{num_epochs}: loss {train_l:.3f}, train acc {train_acc:.3f}, "
            f"test acc {test_acc:.3f}",
            flush=True,
        )
    return Metrics(
        train_l, train_acc, test_acc, n * num_epochs / train_seconds, time.perf_counter() - wall
    )


def book_loop_examples_per_sec(net, train_iter, lr, device, max_batches=200, warmup=5):
    """Examples/sec of the book's training loop (``d2l.train_ch6``), steady state.

    Batches come from the host and are copied per step; loss and accuracy are
    read back to the host after every batch (``d2l.Accumulator``); the timer
    runs around each batch, as the book's does; cuDNN picks its default kernels
    (the book does not turn on ``cudnn.benchmark``). The first ``warmup``
    batches are not timed and at most ``max_batches`` are, which gives the
    per-batch figure of a whole epoch in a fraction of its time.
    """
    warmup = min(warmup, len(train_iter) - 1)  # a short iterator (quick mode) still times a batch
    benchmark = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = False
    net.apply(init_weights)
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    net.train()
    seconds, n = 0.0, 0
    for i, (X, y) in enumerate(train_iter):
        if i >= warmup + max_batches:
            break
        tik = time.perf_counter()
        optimizer.zero_grad()
        X, y = X.to(device), y.to(device)
        y_hat = net(X)
        l = loss(y_hat, y)
        l.backward()
        optimizer.step()
        with torch.no_grad():
            metric = (float(l * X.shape[0]), float((y_hat.argmax(dim=1) == y).sum()), X.shape[0])
        if i >= warmup:
            seconds += time.perf_counter() - tik
            n += metric[2]
    torch.backends.cudnn.benchmark = benchmark
    return n / seconds


def run_model(name, num_epochs, device, bf16=False, baseline=True, note="", cpu_setting=False):
    """Train model ``name`` with the book's setting (or its CPU one); return its results row.

    ``num_epochs`` overrides the setting's number of epochs unless it is None.
    """
    import d2lcnn
    from d2lcnn import config

    setting = setting_of(name, cpu_setting)
    lr, batch_size, resize = setting.lr, setting.batch_size, setting.resize
    epochs = config.epochs(num_epochs or setting.num_epochs)
    print(f"== {name}: {setting} ({epochs} epochs) on {device_label(device, bf16)}", flush=True)
    torch.manual_seed(0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    wall = time.perf_counter()
    train_iter, test_iter = d2lcnn.load_data_fashion_mnist(
        batch_size, resize=resize, num_train=setting.num_train
    )
    if device.type == "cuda":
        metrics = train_fast(build(name, resize), train_iter, test_iter, epochs, lr, device, bf16)
    else:
        metrics = d2lcnn.train_ch6(build(name, resize), train_iter, test_iter, epochs, lr, device)
    wall = time.perf_counter() - wall
    book_loop = None
    if device.type == "cuda" and baseline:
        book_loop = book_loop_examples_per_sec(build(name, resize), train_iter, lr, device)
        print(f"book loop: {book_loop:.1f} examples/sec on {device}", flush=True)
    if load is not None:
        note = f"{note}; " if note else ""
        note += f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    return {
        "model": name,
        "device": device_label(device, bf16),
        "setting": setting.name,
        "epochs": epochs,
        "lr": lr,
        "batch_size": batch_size,
        "resize": resize or 28,
        "num_train": setting.num_train,
        "train_loss": round(metrics.train_loss, 4),
        "train_acc": round(metrics.train_acc, 4),
        "test_acc": round(metrics.test_acc, 4),
        "examples_per_sec": round(metrics.examples_per_sec, 1),
        "book_loop_examples_per_sec": None if book_loop is None else round(book_loop, 1),
        "wall_s": round(wall, 1),
        "trainer": "train_fast (data on device, channels_last)"
        if device.type == "cuda"
        else "d2lcnn.train_ch6",
        "quick": config.quick_mode(),
        "date": datetime.date.today().isoformat(),
        "torch": torch.__version__,
        "note": note,
    }


def train_ch6_results(nb):
    """(train loss, train acc, test acc, examples/sec) printed by each train_ch6 cell of ``nb``."""
    found = []
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if cell["cell_type"] != "code" or "train_ch6(" not in source:
            continue
        text = "".join(
            "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
            for o in cell.get("outputs", [])
            if o.get("output_type") == "stream" and o.get("name") == "stdout"
        )
        matches = FINAL_LINES.findall(text)
        if matches:
            found.append(tuple(float(v) for v in matches[-1]))
    return found


def run_notebook(stem, note=""):
    """Execute ``solutions/<stem>.ipynb`` top to bottom in place; one row per train_ch6 cell."""
    import nbformat
    from nbclient import NotebookClient

    import d2lcnn

    path = ROOT / "solutions" / f"{stem}.ipynb"
    device = d2lcnn.try_gpu()  # what the notebook itself picks
    nb = nbformat.read(path, as_version=4)
    load = os.getloadavg()[0]
    print(f"== {path.relative_to(ROOT)}: executing top to bottom on {device}", flush=True)
    # The kernel is a child process: once it has exited, its CPU time counts here.
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    tik = time.perf_counter()
    client = NotebookClient(
        nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    wall = time.perf_counter() - tik
    nbformat.write(nb, path)
    end = os.getloadavg()[0]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime
    print(
        f"   {wall / 60:.1f} min wall, {cpu_s / 60:.1f} min of CPU time in the kernel, "
        f"load average {load:.1f} at the start, {end:.1f} at the end",
        flush=True,
    )
    results, models = train_ch6_results(nb), NOTEBOOKS[stem]
    if len(results) != len(models):
        raise SystemExit(
            f"reproduce.py: {path.relative_to(ROOT)} printed {len(results)} train_ch6 results, "
            f"expected {len(models)} ({', '.join(models)})"
        )
    note = f"{note}; " if note else ""
    note += (
        f"solutions/{stem}.ipynb executed top to bottom (wall time: the whole notebook; "
        f"{cpu_s / 60:.1f} min of CPU time in its kernel), "
        f"load average {load:.1f} at the start, {end:.1f} at the end"
    )
    rows = []
    for name, (loss, train_acc, test_acc, speed) in zip(models, results):
        setting = d2lcnn.training_setting(MODELS[name][2], device)
        rows.append(
            {
                "model": name,
                "device": device_label(device),
                "setting": setting.name,
                "epochs": setting.num_epochs,
                "lr": setting.lr,
                "batch_size": setting.batch_size,
                "resize": setting.resize or 28,
                "num_train": setting.num_train,
                "train_loss": loss,
                "train_acc": train_acc,
                "test_acc": test_acc,
                "examples_per_sec": speed,
                "book_loop_examples_per_sec": None,
                "wall_s": round(wall, 1),
                "trainer": f"solutions/{stem}.ipynb (d2lcnn.train_ch6)",
                "quick": False,
                "date": datetime.date.today().isoformat(),
                "torch": torch.__version__,
                "note": note,
            }
        )
    return rows


def _key(row):
    return row["model"], row["device"], row.get("setting", "book")


def merge(rows, new_rows):
    """``rows`` with each of ``new_rows`` replacing the row of the same (model, device, setting)."""
    merged = {_key(r): r for r in rows}
    for r in new_rows:
        merged[_key(r)] = r
    order = {name: i for i, name in enumerate(MODELS)}
    return sorted(
        merged.values(),
        key=lambda r: (order.get(r["model"], len(order)), r.get("setting", "book"), r["device"]),
    )


def _num(value, fmt):
    return "" if value is None else format(value, fmt)


def row_label(row):
    """The first column of a row: the model, marked when trained with its CPU setting or quick."""
    label = row["model"]
    if row.get("setting") == "cpu":
        label += " (CPU setting)"
    return label + (" (quick)" if row.get("quick") else "")


def setting_text(row):
    """Input size, training images, learning rate and batch size of a row, in a few words."""
    images = "60,000" if row.get("num_train") is None else f"{row['num_train']:,}"
    return (
        f"{row['resize']}x{row['resize']}, {images} images, lr {row['lr']:g}, "
        f"batch {row['batch_size']}"
    )


def render_table(rows):
    """The results as a Markdown table, each row beside the book's V100 figures."""
    head = (
        "| model | setting | epochs | train loss | train acc | test acc | examples/sec | device "
        "| wall time | book (V100): loss / train / test | book examples/sec |\n"
        "|---|---|---:|---:|---:|---:|---:|---|---:|---|---:|\n"
    )
    lines = []
    for r in rows:
        book = BOOK_V100.get(r["model"])
        speed = _num(r["examples_per_sec"], ",.0f")
        if r.get("book_loop_examples_per_sec"):
            speed += f" (book loop {r['book_loop_examples_per_sec']:,.0f})"
        wall = r["wall_s"]
        wall = f"{wall / 60:.1f} min" if wall >= 60 else f"{wall:.0f} s"
        lines.append(
            f"| {row_label(r)} | {setting_text(r)} | {r['epochs']} "
            f"| {_num(r['train_loss'], '.3f')} | {_num(r['train_acc'], '.3f')} "
            f"| {_num(r['test_acc'], '.3f')} | {speed} | {r['device']} | {wall} "
            f"| {' / '.join(f'{v:.3f}' for v in book[:3]) if book else ''} "
            f"| {f'{book[3]:,}' if book else ''} |"
        )
    return head + "\n".join(lines) + "\n"


def awaiting_gpu(rows):
    """The models whose book-setting row has not been measured on a GPU yet."""
    measured = {
        r["model"]
        for r in rows
        if r.get("setting", "book") == "book"
        and not r["device"].startswith("CPU")
        and not r.get("quick")
    }
    return [name for name in MODELS if name not in measured]


def render_results_md(rows):
    notes = [
        f"- {row_label(r)} on {r['device']} ({r['date']}): {r['note']}"
        for r in rows
        if r.get("note")
    ]
    waiting = awaiting_gpu(rows)
    return (
        "# Results: the book's modern CNNs on Fashion-MNIST\n\n"
        "Written by `bench/reproduce.py` from `results/results.json`; do not edit by hand.\n"
        "A plain row trains with the book's setting (SGD, the book's learning rate, batch size\n"
        "and input size, 10 epochs on all 60,000 training images); a row marked *CPU setting*\n"
        "trains with the setting its notebook uses when there is no GPU (`d2lcnn.settings`:\n"
        "fewer training images and epochs, smaller images), always tested on all 10,000 test\n"
        "images. The last two columns are the figures the book published for one V100.\n"
        "examples/sec counts training batches only, as the book does; wall time covers\n"
        "loading, training and the test-set evaluation after every epoch. On CUDA the\n"
        "parenthesized figure is the book's own loop (batches on the host) timed on the same card.\n\n"
        + render_table(rows)
        + (
            f"\nAwaiting a GPU (the book's setting, not measured on a GPU yet): "
            f"{', '.join(waiting)}.\n"
            if waiting
            else ""
        )
        + ("\nNotes:\n\n" + "\n".join(notes) + "\n" if notes else "")
    )


def replace_section(text, table):
    """``text`` with the part between the results markers replaced; None if they are absent."""
    if START not in text or END not in text or text.index(START) > text.index(END):
        return None
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    return (
        f"{before}{START}\n\n{table}\nFull table, notes and raw figures: "
        f"[results/RESULTS.md](results/RESULTS.md).\n\n{END}{after}"
    )


def write_results(new_rows, out_dir, readme=None):
    """Merge ``new_rows`` into ``out_dir/results.json``; rewrite RESULTS.md and README's section."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "results.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else []
    rows = merge(rows, new_rows)
    path.write_text(json.dumps({"rows": rows}, indent=1) + "\n")
    (out_dir / "RESULTS.md").write_text(render_results_md(rows))
    if readme is not None and Path(readme).exists():
        text = replace_section(Path(readme).read_text(), render_table(rows))
        if text is None:
            print(f"reproduce.py: no {START} ... {END} markers in {readme}; left it alone")
        else:
            Path(readme).write_text(text)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        help=f"comma-separated, from {','.join(MODELS)} (default: "
        "all; with --cpu-setting, those of notebooks 08-14)",
    )
    parser.add_argument(
        "--cpu-setting",
        action="store_true",
        help="train each model with its notebook's CPU setting (d2lcnn.settings)",
    )
    parser.add_argument(
        "--epochs", type=int, help="epochs per model (default: the setting's; the book's is 10)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke test: D2LCNN_QUICK=1 (small slice, at most 2 epochs); "
        "writes nothing unless --out is given",
    )
    parser.add_argument("--bf16", action="store_true", help="bf16 autocast (CUDA only)")
    parser.add_argument(
        "--no-baseline", action="store_true", help="on CUDA, skip timing the book's loop"
    )
    parser.add_argument("--device", help="e.g. cpu or cuda:0 (default: d2lcnn.try_gpu())")
    parser.add_argument("--out", help="results folder (default: results/, none with --quick)")
    parser.add_argument(
        "--readme",
        help="README whose results section to rewrite (default: README.md, none with --quick)",
    )
    parser.add_argument(
        "--notebooks",
        action="store_true",
        help="execute solution notebooks 08-14 (those of --models) top to bottom in place and "
        "record their train_ch6 runs (the CPU setting on a CPU); run `d2lcnn build` afterwards",
    )
    parser.add_argument("--note", default="", help="stored with each row, e.g. machine load")
    args = parser.parse_args(argv)
    names = parse_models(args.models or ",".join(NOTEBOOK_MODELS if args.cpu_setting else MODELS))
    if args.epochs is not None and args.epochs < 1:
        raise SystemExit(f"reproduce.py: --epochs must be at least 1, got {args.epochs}")
    if args.quick:
        os.environ["D2LCNN_QUICK"] = "1"
    import d2lcnn

    device = torch.device(args.device) if args.device else d2lcnn.try_gpu()
    if args.bf16 and device.type != "cuda":
        raise SystemExit("reproduce.py: --bf16 needs a CUDA device")
    out = args.out or (None if args.quick else ROOT / "results")
    readme = args.readme or (None if args.quick else ROOT / "README.md")
    new_rows = []
    if args.notebooks:
        if d2lcnn.quick_mode() or args.epochs:
            raise SystemExit(
                "reproduce.py: --notebooks stores the notebooks' outputs: unset D2LCNN_QUICK "
                "and leave out --quick and --epochs"
            )
        for stem, models in NOTEBOOKS.items():
            if set(models) & set(names):
                rows = run_notebook(stem, args.note)
                new_rows += rows
                if out is not None:
                    write_results(rows, out, readme)
        print()
        print(render_table(new_rows))
        return new_rows
    for name in names:
        new_rows.append(
            run_model(
                name,
                args.epochs,
                device,
                args.bf16,
                not args.no_baseline,
                args.note,
                args.cpu_setting,
            )
        )
        if out is not None:  # after every model, so a long run that dies keeps what it did
            write_results([new_rows[-1]], out, readme)
    print()
    print(render_table(new_rows))
    return new_rows


if __name__ == "__main__":
    main()
