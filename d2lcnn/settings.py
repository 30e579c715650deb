"""How each modern CNN is trained: the book's setting, and one that fits a CPU.

The book trains every model for 10 epochs on all 60,000 Fashion-MNIST training
images, at 224x224 or 96x96: a minute or two per model on a GPU, one to five
hours on a laptop CPU. So each model also has a CPU setting, chosen and
measured on a 2-core machine to finish a notebook in under 10 minutes and
still clearly learn: fewer training images and epochs, and smaller images
where the architecture allows it. ``training_setting`` picks the book's on a
GPU (CUDA or Apple MPS) and the CPU one on a CPU; ``book=True`` asks for the
book's anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["Setting", "BOOK_SETTINGS", "CPU_SETTINGS", "training_setting"]

NUM_TRAIN = 60_000  # the Fashion-MNIST training set


@dataclass(frozen=True)
class Setting:
    """One way to train a model on Fashion-MNIST with SGD.

    Args:
        name: ``"book"`` or ``"cpu"``.
        lr: learning rate.
        batch_size: examples per minibatch.
        num_epochs: passes over the training examples.
        resize: height and width the images are resized to (``None``: 28x28).
        num_train: training examples used, the first ones of the set
            (``None``: all 60,000); the test set is always used whole.

    Example::

        >>> print(Setting("cpu", 0.1, 256, 2, resize=48, num_train=30_000))
        cpu setting: 30,000 of 60,000 training images at 48x48, 2 epochs, lr 0.1, batch size 256
    """

    name: str
    lr: float
    batch_size: int
    num_epochs: int
    resize: int | None = None
    num_train: int | None = None

    def __str__(self) -> str:
        size = self.resize or 28
        images = "all 60,000" if self.num_train is None else f"{self.num_train:,} of {NUM_TRAIN:,}"
        return (
            f"{self.name} setting: {images} training images at {size}x{size}, "
            f"{self.num_epochs} epochs, lr {self.lr:g}, batch size {self.batch_size}"
        )


# The book's settings (d2l.ai, PyTorch edition); every model trains 10 epochs.
BOOK_SETTINGS = {
    "lenet": Setting("book", 0.9, 256, 10),
    "alexnet": Setting("book", 0.01, 128, 10, resize=224),
    "vgg11": Setting("book", 0.05, 128, 10, resize=224),
    "nin": Setting("book", 0.1, 128, 10, resize=224),
    "googlenet": Setting("book", 0.1, 128, 10, resize=96),
    "bn_lenet": Setting("book", 1.0, 256, 10),
    "resnet18": Setting("book", 0.05, 256, 10, resize=96),
    "densenet": Setting("book", 0.1, 256, 10, resize=96),
}

# Measured on a 2-core CPU (bench/reproduce.py --cpu-setting, results/RESULTS.md).
# The two LeNets take under a minute at the book's setting, so they keep it.
CPU_SETTINGS = {
    "lenet": BOOK_SETTINGS["lenet"],
    "alexnet": Setting("cpu", 0.05, 64, 2, resize=67, num_train=40_000),
    "vgg11": Setting("cpu", 0.05, 64, 2, resize=64, num_train=40_000),
    "nin": Setting("cpu", 0.05, 64, 4, resize=67),
    "googlenet": Setting("cpu", 0.1, 64, 2, resize=32),
    "bn_lenet": BOOK_SETTINGS["bn_lenet"],
    "resnet18": Setting("cpu", 0.05, 256, 2, resize=32),
    "densenet": Setting("cpu", 0.1, 256, 3, resize=32),
}


def training_setting(
    model: str, device: torch.device | str | None = None, *, book: bool = False
) -> Setting:
    """The setting to train ``model`` with on ``device``.

    Args:
        model: a key of ``BOOK_SETTINGS`` (``"alexnet"``, ``"vgg11"``, ``"nin"``,
            ``"googlenet"``, ``"bn_lenet"``, ``"resnet18"``, ``"densenet"``, ``"lenet"``).
        device: where the model will train; by default ``try_gpu()``.
        book: the book's setting even on a CPU (one to five hours per model).

    Returns:
        Setting: the book's on a GPU (CUDA or MPS) or when ``book`` is true,
        else the CPU setting.

    Example::

        >>> training_setting("resnet18", "cpu").resize
        32
        >>> training_setting("resnet18", "cpu", book=True).resize
        96
    """
    if model not in BOOK_SETTINGS:
        raise ValueError(
            f"training_setting: unknown model {model!r}; choose from {', '.join(BOOK_SETTINGS)}"
        )
    if device is None:
        from .train import try_gpu

        device = try_gpu()
    on_cpu = torch.device(device).type == "cpu"
    return CPU_SETTINGS[model] if on_cpu and not book else BOOK_SETTINGS[model]
