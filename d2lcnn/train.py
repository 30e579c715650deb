"""The book's training helpers: devices, metrics and ``train_ch6``.

Names and signatures follow ``d2l.torch`` so book code runs unchanged against
``d2lcnn``. What differs is speed and display: running sums stay on the device
and are read back only when a curve is drawn (no host sync per batch), the
data never leaves memory, and the curves redraw in place in Jupyter or print
one line per epoch in a script.
"""

import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from typing import Any, NamedTuple, Protocol, TypeVar, cast

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler

from . import config
from .data import FashionMNISTBatches
from .plot import LivePlot, ProgressBar, in_notebook

__all__ = [
    "try_gpu",
    "try_all_gpus",
    "Accumulator",
    "Timer",
    "accuracy",
    "evaluate_accuracy_gpu",
    "train_ch6",
    "Metrics",
    "duration_text",
]

_T = TypeVar("_T")
_Batches = TypeVar("_Batches", bound=Iterable[Any])


class Minibatches(Protocol):
    """What ``train_ch6`` trains on: ``(X, y)`` minibatches that know how many they are
    (a list of pairs, a ``DataLoader``, :class:`~d2lcnn.data.FashionMNISTBatches`)."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...


def try_gpu(i: int = 0) -> torch.device:
    """The ``i``-th CUDA GPU if there is one, else Apple's MPS (for ``i=0``), else the CPU.

    Example::

        >>> try_gpu().type in ("cuda", "mps", "cpu")
        True
    """
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    if i == 0 and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def try_all_gpus() -> list[torch.device]:
    """Every CUDA GPU, else ``[mps]`` on Apple silicon, else ``[cpu]``."""
    devices = [torch.device(f"cuda:{i}") for i in range(torch.cuda.device_count())]
    if not devices and torch.backends.mps.is_available():
        devices = [torch.device("mps")]
    return devices or [torch.device("cpu")]


class Accumulator:
    """Running sums over ``n`` variables.

    Example::

        >>> metric = Accumulator(2)
        >>> metric.add(3, 1.5); metric.add(1, 0.5)
        >>> metric[0], metric[1]
        (4.0, 2.0)
    """

    def __init__(self, n: int) -> None:
        self.data = [0.0] * n

    def add(self, *args: float | torch.Tensor) -> None:
        self.data = [a + float(b) for a, b in zip(self.data, args)]

    def reset(self) -> None:
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]


class Timer:
    """Records the seconds between ``start()`` and ``stop()``, over many runs.

    Example::

        >>> timer = Timer(); _ = timer.stop()
        >>> len(timer.times), timer.sum() >= 0
        (1, True)
    """

    def __init__(self) -> None:
        self.times: list[float] = []
        self.start()

    def start(self) -> None:
        self.tik = time.perf_counter()

    def stop(self) -> float:
        """Stop the timer, record the run and return its seconds."""
        self.times.append(time.perf_counter() - self.tik)
        return self.times[-1]

    def avg(self) -> float:
        return sum(self.times) / len(self.times)

    def sum(self) -> float:
        return sum(self.times)

    def cumsum(self) -> list[float]:
        out, total = [], 0.0
        for t in self.times:
            total += t
            out.append(total)
        return out


def _num_correct(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The number of correct predictions as a 0-d tensor on ``y_hat``'s device (no sync)."""
    if y_hat.dim() > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    return (y_hat.to(y.dtype) == y).sum()


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The number of correct predictions (a float), as in the book.

    Args:
        y_hat: (batch, num_classes) scores, or (batch,) predicted classes.
        y: (batch,) true classes.

    Example::

        >>> accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
        1.0
    """
    return float(_num_correct(y_hat, y))


def _on_device(data_iter: _Batches, device: torch.device) -> _Batches:
    """In-memory batches move to ``device`` once; other iterables move per batch."""
    if isinstance(data_iter, FashionMNISTBatches):
        return cast(_Batches, data_iter.to(device))  # the same class, so the same type
    return data_iter


def evaluate_accuracy_gpu(
    net: Callable[..., torch.Tensor],
    data_iter: Iterable[tuple[torch.Tensor | list[torch.Tensor], torch.Tensor]],
    device: torch.device | str | None = None,
) -> float:
    """The accuracy of ``net`` on ``data_iter``, computed on ``device``.

    Args:
        net: a model; it is switched to ``eval()`` mode.
        data_iter: iterable of ``(X, y)`` minibatches.
        device: where to compute; by default the device of ``net``'s parameters.

    Example::

        >>> net = nn.Linear(2, 2)
        >>> data = [(torch.randn(4, 2), torch.randint(0, 2, (4,)))]
        >>> 0.0 <= evaluate_accuracy_gpu(net, data) <= 1.0
        True
    """
    if isinstance(net, nn.Module):
        net.eval()
        if device is None:
            device = next(iter(net.parameters())).device
    device = torch.device(device or "cpu")
    correct, total = torch.zeros((), dtype=torch.int64, device=device), 0
    with torch.no_grad():
        for X, y in _on_device(data_iter, device):
            X = [x.to(device) for x in X] if isinstance(X, list) else X.to(device)
            y = y.to(device)
            correct += _num_correct(net(X), y)
            total += y.numel()
    if total == 0:
        raise ValueError(
            "evaluate_accuracy_gpu: data_iter yielded no examples; "
            "pass a non-empty iterable of (X, y) minibatches."
        )
    return correct.item() / total


class _MetricsFields(NamedTuple):
    train_loss: float
    train_acc: float
    test_acc: float
    examples_per_sec: float
    time: float


class Metrics(_MetricsFields):
    """What ``train_ch6`` returns: the last epoch's mean training loss and
    accuracy, the test accuracy, training examples per second (training batches only,
    as the book counts), and the wall seconds of the whole call.

    A notebook cell that ends with the ``train_ch6(...)`` call shows no
    ``Metrics(...)`` line, as with the book's ``train_ch6`` (which returns nothing):
    the curves and the printed summary are the display. Anywhere else (``metrics``
    in a later cell, ``print``, a script) the values show as usual.

    Example::

        >>> m = Metrics(0.47, 0.82, 0.78, 16000.0, 41.0)
        >>> m.test_acc, m
        (0.78, Metrics(train_loss=0.47, train_acc=0.82, test_acc=0.78, examples_per_sec=16000.0, time=41.0))
    """

    cell: int | None = None  # the Jupyter cell whose train_ch6 call returned it

    def _ipython_display_(self) -> None:
        """Jupyter's display hook: nothing in the cell that trained, the values elsewhere."""
        if self.cell is None or self.cell != _cell_number():
            from IPython.display import display

            display({"text/plain": repr(self)}, raw=True)


def _cell_number() -> int | None:
    """The execution count of the IPython cell running now (None outside IPython)."""
    from IPython import get_ipython

    shell = get_ipython()
    return None if shell is None else shell.execution_count


def _check_args(net: object, num_epochs: object, lr: float) -> None:
    if not isinstance(net, nn.Module):
        raise TypeError(f"train_ch6: net must be a torch.nn.Module, got {type(net).__name__}.")
    if not isinstance(num_epochs, int) or num_epochs < 1:
        raise ValueError(f"train_ch6: num_epochs must be a positive int, got {num_epochs!r}.")
    if not lr > 0:
        raise ValueError(f"train_ch6: lr must be positive, got {lr!r}.")


def init_weights(m: nn.Module) -> None:
    """The book's initialization: Xavier-uniform weights for every Linear and Conv2d."""
    if type(m) in (nn.Linear, nn.Conv2d):  # exact types, as in the book
        nn.init.xavier_uniform_(cast(nn.Linear | nn.Conv2d, m).weight)


def train_ch6(
    net: nn.Module,
    train_iter: Minibatches,
    test_iter: Iterable[tuple[torch.Tensor, torch.Tensor]],
    num_epochs: int,
    lr: float,
    device: torch.device | str,
    *,
    plot_path: str | os.PathLike[str] | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: LRScheduler | None = None,
) -> Metrics:
    """Train ``net`` with minibatch SGD and cross-entropy, as in the book's chapter 6.

    Weights of Linear and Conv2d layers are first re-initialized (Xavier
    uniform). In Jupyter the curves (train loss, train acc, test acc) redraw
    in place five times per epoch under a progress bar; in a script one line
    per epoch is printed. With ``D2LCNN_QUICK=1`` at most
    ``config.QUICK_MAX_EPOCHS`` epochs run. On the CPU, unless
    ``OMP_NUM_THREADS`` is set, each epoch times its first batches with torch's
    thread count and with one thread and trains on with the faster (a busy,
    shared CPU can make two threads ten times slower than one); the thread
    count is restored at the end.

    Args:
        net: the model, mapping (batch, ...) inputs to (batch, num_classes) scores.
        train_iter, test_iter: iterables of ``(X, y)`` minibatches.
        num_epochs: passes over ``train_iter``.
        lr: SGD learning rate.
        device: where to train, e.g. ``try_gpu()``.
        plot_path: keyword-only; save the curves there as PNG (default:
            ``$D2LCNN_PLOT`` if set).
        optimizer: keyword-only; an optimizer over ``net``'s parameters to use
            instead of ``SGD(lr=lr)``.
        scheduler: keyword-only; a learning-rate scheduler stepped after every batch.

    Returns:
        Metrics: ``(train_loss, train_acc, test_acc, examples_per_sec, time)``.

    Example::

        >>> train_iter, test_iter = load_data_fashion_mnist(256)             # doctest: +SKIP
        >>> train_ch6(lenet(), train_iter, test_iter, 10, 0.9, try_gpu())  # doctest: +SKIP
        loss 0.469, train acc 0.823, test acc 0.779
        55297.0 examples/sec on cpu
    """
    _check_args(net, num_epochs, lr)
    wall, device = time.perf_counter(), torch.device(device)
    plot_path = plot_path or os.environ.get("D2LCNN_PLOT")
    net.apply(init_weights)
    epochs = _announce(num_epochs, device)
    net.to(device)
    train_iter, test_iter = _on_device(train_iter, device), _on_device(test_iter, device)
    step = _Step(net, optimizer or torch.optim.SGD(net.parameters(), lr=lr), scheduler)
    num_batches = len(train_iter)
    if num_batches == 0:
        raise ValueError("train_ch6: train_iter has no batches; pass a non-empty data iterator.")
    show = _Display(epochs, num_batches, _num_batches(test_iter), device)
    timer, threads = Timer(), torch.get_num_threads()
    tune = _tune_threads(device, threads)
    try:
        for epoch in range(epochs):
            batches = _thread_tuned(train_iter, (threads, 1)) if tune else train_iter
            train = _train_epoch(step, batches, device, epoch, show, timer)
            test_acc = evaluate_accuracy_gpu(net, test_iter, device)
            show.epoch_done(epoch, train, test_acc)
    finally:
        torch.set_num_threads(threads)  # undo the tuning, also after an interrupt
        show.close()
    show.finish(plot_path)
    examples_per_sec = train.examples * epochs / timer.sum()
    _summary(train, test_acc, examples_per_sec, device)
    metrics = Metrics(train.loss, train.acc, test_acc, examples_per_sec, time.perf_counter() - wall)
    metrics.cell = _cell_number()
    return metrics


def _announce(num_epochs: int, device: torch.device) -> int:
    """Print what is about to run; return the number of epochs that will (fewer in quick mode)."""
    epochs = config.epochs(num_epochs)
    if epochs < num_epochs:
        print(
            f"quick mode (D2LCNN_QUICK=1): {epochs} of {num_epochs} epochs on a slice of the data"
        )
    print("training on", device)
    return epochs


def _tune_threads(device: torch.device, threads: int) -> bool:
    """Whether to time the first batches under two CPU thread counts and keep the faster.

    On a shared CPU two OpenMP threads can run ten times slower than one (they spin
    waiting for each other while other processes hold the cores). A user's own
    ``OMP_NUM_THREADS`` is respected.
    """
    return device.type == "cpu" and threads > 1 and "OMP_NUM_THREADS" not in os.environ


class _Step:
    """One SGD step on a minibatch: the model, its optimizer and an optional scheduler."""

    def __init__(
        self, net: nn.Module, optimizer: torch.optim.Optimizer, scheduler: LRScheduler | None
    ) -> None:
        self.net, self.optimizer, self.scheduler = net, optimizer, scheduler
        self.loss = nn.CrossEntropyLoss()

    def __call__(self, X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Update the weights on ``(X, y)``; return the mean loss and the scores ``y_hat``."""
        self.optimizer.zero_grad(set_to_none=True)
        y_hat = self.net(X)
        l = self.loss(y_hat, y)
        l.backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return l, y_hat


class _EpochResult(NamedTuple):
    """One training epoch's figures, as read at its last batch."""

    loss: float  # mean training loss per example
    acc: float  # training accuracy
    examples: int  # training examples seen


def _train_epoch(
    step: _Step,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    device: torch.device,
    epoch: int,
    show: "_Display",
    timer: Timer,
) -> _EpochResult:
    """One pass over ``batches``; ``timer`` counts the training only, not the drawing.

    The running sums stay on the device and are read back only at the plot marks.
    """
    step.net.train()
    sums, n = torch.zeros(2, device=device), 0  # (loss summed over examples, correct)
    train_l = train_acc = math.nan  # set at the marks, and the last batch is one
    timer.start()
    for i, (X, y) in enumerate(batches, start=1):
        show.eta.start(epoch, i)
        X, y = X.to(device), y.to(device)
        l, y_hat = step(X, y)
        with torch.no_grad():
            sums += torch.stack((l * len(y), _num_correct(y_hat, y).to(sums.dtype)))
        n += len(y)
        show.batch_done(epoch, i)
        if i in show.marks:
            train_l, train_acc = (sums / n).tolist()  # the only host sync in the loop
            timer.stop()
            show.progress(epoch, i, train_l, train_acc)
            timer.start()
    return _EpochResult(train_l, train_acc, n)


def _plot_marks(num_batches: int) -> set[int]:
    """The book's plot points: every ``num_batches // 5`` batches and the last batch.

    Example::

        >>> sorted(_plot_marks(12)), sorted(_plot_marks(3))
        ([2, 4, 6, 8, 10, 12], [1, 2, 3])
    """
    marks = {i for i in range(1, num_batches + 1) if i % max(1, num_batches // 5) == 0}
    marks.add(num_batches)
    return marks


class _Display:
    """What ``train_ch6`` shows: in Jupyter the curves under a title and a progress bar,
    in a script one printed line for the time estimate and one per epoch."""

    def __init__(
        self, epochs: int, num_batches: int, num_test_batches: int, device: torch.device
    ) -> None:
        self.live, self.epochs, self.num_batches = in_notebook(), epochs, num_batches
        self.plot = LivePlot(
            ["train loss", "train acc", "test acc"], xlim=(0, epochs), live=self.live
        )
        if self.live:
            self.plot.show()  # the empty axes first, so the figure sits above the progress bar
        self.marks = _plot_marks(num_batches)
        self.bar = ProgressBar(epochs * num_batches, self.live)
        self.eta = _Estimate(epochs, num_batches, num_test_batches, device)

    def batch_done(self, epoch: int, i: int) -> None:
        """After batch ``i``: the time estimate (from the first batches) and the bar."""
        if self.eta.stop(epoch, i):
            self.plot.set_title(f"{self.eta} on this machine")
            self.bar.set_description(f"{self.eta} on this machine")
            if self.live:
                self.plot.show()
        if not self.live and self.eta.final(epoch, i):
            print(f"{self.eta} on this machine (timed on the first batches)", flush=True)
        self.bar.update()

    def progress(self, epoch: int, i: int, train_l: float, train_acc: float) -> None:
        """At a plot mark: the running training loss and accuracy."""
        self.bar.set_postfix(epoch=epoch + 1, loss=f"{train_l:.3f}", acc=f"{train_acc:.3f}")
        self.plot.add(epoch + i / self.num_batches, (train_l, train_acc, None))

    def epoch_done(self, epoch: int, train: _EpochResult, test_acc: float) -> None:
        """The test accuracy point, and in a script the epoch's line."""
        self.plot.add(epoch + 1, (None, None, test_acc))
        if not self.live:
            print(
                f"epoch {epoch + 1}/{self.epochs}: loss {train.loss:.3f}, "
                f"train acc {train.acc:.3f}, test acc {test_acc:.3f}",
                flush=True,
            )

    def close(self) -> None:
        """End the progress bar (also after an interrupt)."""
        self.bar.close()

    def finish(self, plot_path: str | os.PathLike[str] | None) -> None:
        """The final curves in the notebook, and saved as PNG when asked."""
        if self.live:
            self.plot.show()
        if plot_path:
            self.plot.save(plot_path)


def _summary(
    train: _EpochResult, test_acc: float, examples_per_sec: float, device: torch.device
) -> None:
    """The book's two closing lines, on the last epoch."""
    print(f"loss {train.loss:.3f}, train acc {train.acc:.3f}, test acc {test_acc:.3f}")
    print(f"{examples_per_sec:.1f} examples/sec on {device}")


def _num_batches(data_iter: Iterable[Any]) -> int:
    """``len(data_iter)``, or 0 when the iterable has no length."""
    try:
        return len(cast(Sized, data_iter))
    except TypeError:  # no __len__, or one that refuses (a DataLoader over an IterableDataset)
        return 0


def duration_text(seconds: float) -> str:
    """A rough duration for people: ``"about 40 s"``, ``"about 6 min"``, ``"about 2.5 h"``.

    Example::

        >>> duration_text(44), duration_text(370), duration_text(9000)
        ('about 40 s', 'about 6 min', 'about 2.5 h')
    """
    if seconds < 90:
        return f"about {max(10, round(seconds, -1)):.0f} s"
    if seconds < 90 * 60:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


class _Estimate:
    """How long a ``train_ch6`` run takes, from the time of its first batches.

    A test batch costs about a third of a training batch (a forward pass, no
    backward). The first batch of a run also pays one-off set-up costs, and the
    thread tuning tries two thread counts on the first six, so the estimate is
    made after batch 1 and refined with the fastest batch up to batch
    ``refine``; ``stop`` returns True whenever the rounded estimate changed.
    """

    def __init__(
        self,
        epochs: int,
        num_batches: int,
        num_test_batches: int,
        device: torch.device,
        refine: int = 6,
    ) -> None:
        self.epochs, self.num_batches = epochs, num_batches
        self.num_test_batches, self.device = num_test_batches, device
        self.refine = min(refine, num_batches)
        self.best, self.tik = math.inf, 0.0
        self.seconds: float | None = None

    def start(self, epoch: int, i: int) -> None:
        if epoch == 0 and i <= self.refine:
            _sync(self.device)
            self.tik = time.perf_counter()

    def stop(self, epoch: int, i: int) -> bool:
        if epoch != 0 or i > self.refine:
            return False
        _sync(self.device)  # GPU work is queued: wait for it, or the batch looks free
        self.best = min(self.best, time.perf_counter() - self.tik)
        per_epoch = self.best * (self.num_batches + self.num_test_batches / 3)
        old, self.seconds = self.seconds, per_epoch * self.epochs
        return old is None or duration_text(old) != duration_text(self.seconds)

    def final(self, epoch: int, i: int) -> bool:
        """True right after the last batch the estimate is refined with."""
        return epoch == 0 and i == self.refine

    def __str__(self) -> str:
        """The estimate as people read it, e.g. ``"about 6 min"``."""
        return "no estimate yet" if self.seconds is None else duration_text(self.seconds)


def _sync(device: torch.device) -> None:
    """Wait for the work queued on a GPU (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _thread_tuned(
    batches: Iterable[_T], candidates: Iterable[int], trials: int = 3
) -> Iterator[_T]:
    """Yield ``batches``, timing the first ones under each CPU thread count in ``candidates``.

    The time from one batch to the next is that batch's training step. After
    ``trials`` batches per candidate, the fastest count stays set for the rest.
    """
    it, best = iter(batches), dict[int, float]()
    for threads in candidates:
        torch.set_num_threads(threads)
        for _ in range(trials):
            batch = next(it, None)
            if batch is None:
                return
            tik = time.perf_counter()
            yield batch
            best[threads] = min(best.get(threads, math.inf), time.perf_counter() - tik)
    torch.set_num_threads(min(best, key=best.__getitem__))
    yield from it
