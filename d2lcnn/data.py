"""Fashion-MNIST: find the four files, verify them, decode them once, and
serve minibatches straight from memory.

The files are looked up, in order, in ``$D2LCNN_DATA``, the user cache
directory, and ``/usr/share/datasets/fashion-mnist`` (Debian/Ubuntu package
``dataset-fashion-mnist``); anything missing is downloaded into the cache.
Checksums are taken over the *decompressed* bytes, so a re-compressed copy with
identical content (as Debian ships) is accepted and a corrupt one never is.
"""

import functools
import gzip
import hashlib
import math
import os
import tempfile
import urllib.request
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import torch
from torch.nn import functional as F

from . import config

__all__ = [
    "load_data_fashion_mnist",
    "get_fashion_mnist_labels",
    "FashionMNISTBatches",
    "DataError",
    "find_fashion_mnist",
]

# sha256 of each file's decompressed content (the official release).
CHECKSUMS = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
MIRRORS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
]
SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
TEXT_LABELS = [
    "t-shirt",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
]
FIX_HINT = "Delete it and run `d2lcnn data` to fetch a verified copy."


class DataError(RuntimeError):
    """A data file is missing, truncated, corrupt or not Fashion-MNIST."""


def cache_dir() -> Path:
    """Where downloaded files are kept: the user cache directory."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("d2lcnn")) / "fashion-mnist"


def search_dirs() -> list[tuple[Path, str]]:
    """The directories searched for the files, in order, with a label for each."""
    dirs: list[tuple[Path, str]] = []
    if os.environ.get("D2LCNN_DATA"):
        dirs.append((Path(os.environ["D2LCNN_DATA"]), "$D2LCNN_DATA"))
    dirs.append((cache_dir(), "user cache"))
    dirs.append((SYSTEM_DIR, "system package dataset-fashion-mnist"))
    return dirs


def _locate(name: str) -> tuple[Path, str] | None:
    """The first existing copy of ``name`` (raw or .gz) and where it was found."""
    for folder, origin in search_dirs():
        for path in (folder / name, folder / f"{name}.gz"):
            if path.is_file():
                return path, origin
    return None


def _verified_bytes(path: Path, name: str) -> bytes:
    """The decompressed content of ``path``, or DataError if it is not ``name``."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(
                f"{path}: cannot decompress ({e}): the file is truncated or corrupt. {FIX_HINT}"
            ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != CHECKSUMS[name]:
        raise DataError(
            f"{path}: checksum mismatch: this is not the official {name} "
            f"(sha256 {digest[:12]}..., expected {CHECKSUMS[name][:12]}...); "
            f"the file is truncated, corrupt or a different file. {FIX_HINT}"
        )
    return data


def _download(name: str) -> Path:
    """Fetch ``name``.gz into the cache, verify it, and return its path."""
    dest = cache_dir()
    dest.mkdir(parents=True, exist_ok=True)
    errors = []
    for mirror in MIRRORS:
        url = f"{mirror}{name}.gz"
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                payload = response.read()
        except OSError as e:
            errors.append(f"{url}: {e}")
            continue
        # Verify before the file takes its final name, so a bad download never lands.
        with tempfile.NamedTemporaryFile(dir=dest, suffix=".gz", delete=False) as tmp:
            tmp.write(payload)
        try:
            _verified_bytes(Path(tmp.name), name)
        except DataError as e:
            os.unlink(tmp.name)
            errors.append(f"{url}: {e}")
            continue
        final = dest / f"{name}.gz"
        os.replace(tmp.name, final)
        return final
    looked = ", ".join(str(d) for d, _ in search_dirs())
    raise DataError(
        f"{name}: not found in {looked} and the download failed "
        f"({'; '.join(errors)}). Install the Debian/Ubuntu package "
        f"dataset-fashion-mnist, or put the four Fashion-MNIST files in a "
        f"folder and set D2LCNN_DATA to it."
    )


def find_fashion_mnist(download: bool = True) -> dict[str, tuple[Path, str]]:
    """Locate (and if needed download) the four files.

    Returns:
        dict: file name -> (path, origin), where origin says which search
        location (or ``"downloaded"``) the file came from.
    """
    found: dict[str, tuple[Path, str]] = {}
    for name in CHECKSUMS:
        where = _locate(name)
        if where is None:
            if not download:
                raise DataError(f"{name}: not found in any of {[str(d) for d, _ in search_dirs()]}")
            where = _download(name), "downloaded"
        found[name] = where
    return found


def _decode_idx(data: bytes, path: Path, ndim: int) -> torch.Tensor:
    """Decode an IDX file (big-endian header, uint8 payload) into a tensor."""
    magic = int.from_bytes(data[:4], "big")
    if magic != 0x0800 + ndim:
        raise DataError(
            f"{path}: not an IDX file with {ndim} dimensions (magic number {magic:#x}). {FIX_HINT}"
        )
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    header = 4 + 4 * ndim
    if len(data) != header + math.prod(shape):
        raise DataError(f"{path}: {len(data) - header} data bytes for shape {shape}. {FIX_HINT}")
    return torch.frombuffer(bytearray(data), dtype=torch.uint8, offset=header).reshape(shape)


@functools.cache
def _load_split(
    images_path: Path, labels_path: Path, images_name: str, labels_name: str
) -> tuple[torch.Tensor, torch.Tensor]:
    images = _decode_idx(_verified_bytes(images_path, images_name), images_path, 3)
    labels = _decode_idx(_verified_bytes(labels_path, labels_name), labels_path, 1)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} holds {len(images)} images but {labels_path} "
            f"holds {len(labels)} labels. {FIX_HINT}"
        )
    return images, labels.long()  # (n, 28, 28) uint8, (n,) int64


def load_split(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The verified training (``train=True``) or test split as uint8 images and labels."""
    prefix = "train" if train else "t10k"
    names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    found = find_fashion_mnist()
    return _load_split(found[names[0]][0], found[names[1]][0], *names)


class FashionMNISTBatches:
    """Minibatches ``(X, y)`` sliced from in-memory uint8 images.

    Images are converted to float in [0, 1] and, if ``resize`` is given,
    resized per batch, so no per-image work or worker process is involved.

    Args:
        images: (n, h, w) uint8 tensor.
        labels: (n,) int64 tensor.
        batch_size: examples per batch; the last batch may be smaller.
        shuffle: draw a fresh random order on every pass.
        resize: ``None``, an int (square) or an ``(h, w)`` pair.

    Example::

        >>> it = FashionMNISTBatches(torch.zeros(5, 28, 28, dtype=torch.uint8),
        ...                          torch.arange(5), batch_size=2, shuffle=False)
        >>> [tuple(X.shape) for X, y in it]
        [(2, 1, 28, 28), (2, 1, 28, 28), (1, 1, 28, 28)]
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        shuffle: bool,
        resize: int | tuple[int, int] | None = None,
    ) -> None:
        self.images, self.labels = images, labels
        self.batch_size, self.shuffle = batch_size, shuffle
        self.resize = (resize, resize) if isinstance(resize, int) else resize

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    @property
    def num_examples(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device | str) -> "FashionMNISTBatches":
        """The same batches, with the data kept on ``device`` (no copy per batch)."""
        return FashionMNISTBatches(
            self.images.to(device),
            self.labels.to(device),
            self.batch_size,
            self.shuffle,
            self.resize,
        )

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.labels)
        order = torch.randperm(n, device=self.labels.device) if self.shuffle else None
        for start in range(0, n, self.batch_size):
            idx: slice | torch.Tensor
            if order is None:
                idx = slice(start, start + self.batch_size)
            else:
                idx = order[start : start + self.batch_size]
            X = self.images[idx].unsqueeze(1).float().div_(255)  # (batch, 1, h, w)
            if self.resize is not None:
                X = F.interpolate(
                    X, size=self.resize, mode="bilinear", align_corners=False, antialias=True
                )
            yield X, self.labels[idx]


def load_data_fashion_mnist(
    batch_size: int,
    resize: int | tuple[int, int] | None = None,
    *,
    num_train: int | None = None,
) -> tuple[FashionMNISTBatches, FashionMNISTBatches]:
    """Fashion-MNIST as ``(train_iter, test_iter)``, with the book's signature.

    In quick mode (``D2LCNN_QUICK=1``) only the first
    ``config.QUICK_TRAIN_EXAMPLES`` / ``config.QUICK_TEST_EXAMPLES`` examples
    are served; at 28x28 (no ``resize``) at least ``config.QUICK_MIN_BATCHES``
    training batches, which the book's own ``train_ch6`` needs and which cost
    well under a second.

    Args:
        batch_size: examples per minibatch.
        resize: optional output size, an int or ``(h, w)``; images are 28x28.
        num_train: keyword-only (the book's two arguments keep their places);
            serve only the first ``num_train`` training examples (a CPU
            setting's subset; the test set stays whole). ``None``: all 60,000.

    Example::

        >>> train_iter, test_iter = load_data_fashion_mnist(256)  # doctest: +SKIP
        >>> X, y = next(iter(train_iter))                         # doctest: +SKIP
        >>> X.shape, y.shape                                      # doctest: +SKIP
        (torch.Size([256, 1, 28, 28]), torch.Size([256]))
    """
    if num_train is not None and not (isinstance(num_train, int) and num_train >= 1):
        raise ValueError(
            f"load_data_fashion_mnist: num_train must be a positive int or None, got {num_train!r}"
        )
    (train_X, train_y), (test_X, test_y) = load_split(True), load_split(False)
    train_X, train_y = train_X[:num_train], train_y[:num_train]  # [:None] keeps everything
    if config.quick_mode():
        n = config.QUICK_TRAIN_EXAMPLES
        if resize is None:
            n = max(n, config.QUICK_MIN_BATCHES * batch_size)
        train_X, train_y = train_X[:n], train_y[:n]
        test_X, test_y = test_X[: config.QUICK_TEST_EXAMPLES], test_y[: config.QUICK_TEST_EXAMPLES]
    return (
        FashionMNISTBatches(train_X, train_y, batch_size, shuffle=True, resize=resize),
        FashionMNISTBatches(test_X, test_y, batch_size, shuffle=False, resize=resize),
    )


def get_fashion_mnist_labels(labels: Iterable[int] | torch.Tensor) -> list[str]:
    """Text labels for a sequence (or tensor) of class indices."""
    return [TEXT_LABELS[int(i)] for i in labels]
