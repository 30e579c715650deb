"""Fashion-MNIST loading on small IDX fixtures: lookup order, verification, download."""

import gzip
import hashlib

import pytest
import torch

from d2lcnn import cli, config, data

NAMES = list(data.CHECKSUMS)


def idx_bytes(tensor):
    """Encode a uint8 tensor as an IDX file (magic 0x08 0x<ndim>, big-endian sizes)."""
    header = (0x0800 + tensor.dim()).to_bytes(4, "big")
    header += b"".join(d.to_bytes(4, "big") for d in tensor.shape)
    return header + tensor.numpy().tobytes()


@pytest.fixture
def fixture_set(tmp_path, monkeypatch):
    """Four tiny IDX files: 40 train and 12 test images of 28x28; checksums patched to match."""
    gen = torch.Generator().manual_seed(0)
    arrays = {
        "train-images-idx3-ubyte": torch.randint(
            0, 256, (40, 28, 28), generator=gen, dtype=torch.uint8
        ),
        "train-labels-idx1-ubyte": torch.arange(40, dtype=torch.uint8) % 10,
        "t10k-images-idx3-ubyte": torch.randint(
            0, 256, (12, 28, 28), generator=gen, dtype=torch.uint8
        ),
        "t10k-labels-idx1-ubyte": torch.arange(12, dtype=torch.uint8) % 10,
    }
    raw = {name: idx_bytes(t) for name, t in arrays.items()}
    monkeypatch.setattr(
        data, "CHECKSUMS", {n: hashlib.sha256(b).hexdigest() for n, b in raw.items()}
    )
    # Isolate every search location from the real machine.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(data, "SYSTEM_DIR", tmp_path / "system")
    monkeypatch.delenv("D2LCNN_DATA", raising=False)
    monkeypatch.delenv("D2LCNN_QUICK", raising=False)
    monkeypatch.setattr(data, "MIRRORS", [])
    data._load_split.cache_clear()
    yield arrays, raw
    data._load_split.cache_clear()


def write_set(folder, raw, compress=True, level=9):
    folder.mkdir(parents=True, exist_ok=True)
    for name, payload in raw.items():
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(payload, compresslevel=level))
        else:
            (folder / name).write_bytes(payload)


def test_loads_decoded_tensors_in_batches(fixture_set, tmp_path, monkeypatch):
    arrays, raw = fixture_set
    write_set(tmp_path / "mine", raw)
    monkeypatch.setenv("D2LCNN_DATA", str(tmp_path / "mine"))
    train_iter, test_iter = data.load_data_fashion_mnist(16)
    assert len(train_iter) == 3 and len(test_iter) == 1
    X, y = next(iter(test_iter))  # test batches are in file order
    assert X.shape == (12, 1, 28, 28) and X.dtype == torch.float32
    torch.testing.assert_close(X[:, 0], arrays["t10k-images-idx3-ubyte"].float() / 255)
    assert y.dtype == torch.int64 and y.tolist() == (torch.arange(12) % 10).tolist()
    seen = torch.cat([y for _, y in train_iter])
    assert sorted(seen.tolist()) == sorted((torch.arange(40) % 10).tolist())


def test_resize_is_per_batch(fixture_set, tmp_path, monkeypatch):
    _, raw = fixture_set
    write_set(tmp_path / "mine", raw)
    monkeypatch.setenv("D2LCNN_DATA", str(tmp_path / "mine"))
    _, test_iter = data.load_data_fashion_mnist(5, resize=64)
    X, _ = next(iter(test_iter))
    assert X.shape == (5, 1, 64, 64)
    assert 0.0 <= X.min() and X.max() <= 1.0


def test_quick_mode_serves_a_slice(fixture_set, tmp_path, monkeypatch):
    _, raw = fixture_set
    write_set(tmp_path / "mine", raw)
    monkeypatch.setenv("D2LCNN_DATA", str(tmp_path / "mine"))
    monkeypatch.setenv("D2LCNN_QUICK", "1")
    monkeypatch.setattr(config, "QUICK_TRAIN_EXAMPLES", 8)
    monkeypatch.setattr(config, "QUICK_TEST_EXAMPLES", 4)
    train_iter, test_iter = data.load_data_fashion_mnist(100, resize=28)
    assert train_iter.num_examples == 8 and test_iter.num_examples == 4
    assert config.epochs(10) == config.QUICK_MAX_EPOCHS
    # 28x28: at least five training batches, as the book's own train_ch6 needs.
    train_iter, _ = data.load_data_fashion_mnist(3)
    assert train_iter.num_examples == 15 and len(train_iter) == config.QUICK_MIN_BATCHES
    assert data.load_data_fashion_mnist(1)[0].num_examples == 8


def test_lookup_order_env_then_cache_then_system(fixture_set, tmp_path, monkeypatch):
    _, raw = fixture_set
    write_set(tmp_path / "system", raw)
    assert data.find_fashion_mnist()[NAMES[0]][1].startswith("system package")
    write_set(data.cache_dir(), raw, compress=False)
    assert data.find_fashion_mnist()[NAMES[0]][1] == "user cache"
    write_set(tmp_path / "mine", raw)
    monkeypatch.setenv("D2LCNN_DATA", str(tmp_path / "mine"))
    found = data.find_fashion_mnist()
    assert {origin for _, origin in found.values()} == {"$D2LCNN_DATA"}


def test_recompressed_files_are_accepted(fixture_set, tmp_path):
    """Checksums cover the decompressed bytes, as the Debian package re-compresses."""
    _, raw = fixture_set
    write_set(tmp_path / "system", raw, level=1)
    train_iter, _ = data.load_data_fashion_mnist(64)
    assert train_iter.num_examples == 40


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupt_file_is_rejected_with_its_name(fixture_set, tmp_path, monkeypatch, damage, capsys):
    _, raw = fixture_set
    folder = tmp_path / "mine"
    write_set(folder, raw)
    monkeypatch.setenv("D2LCNN_DATA", str(folder))
    bad = folder / "train-images-idx3-ubyte.gz"
    payload = bad.read_bytes()
    if damage == "truncate":
        payload = payload[: len(payload) // 2]
    elif damage == "flip":
        payload = gzip.compress(raw["train-images-idx3-ubyte"][:-1] + b"\x01")
    else:
        payload = b"not gzip at all"
    bad.write_bytes(payload)
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte.gz") as err:
        data.load_data_fashion_mnist(8)
    assert "d2lcnn data" in str(err.value)  # says what to do
    assert cli.main(["data", "--no-download"]) == 1
    assert "train-images-idx3-ubyte" in capsys.readouterr().err


def test_download_verifies_before_keeping(fixture_set, tmp_path, monkeypatch):
    _, raw = fixture_set
    good, bad = tmp_path / "mirror-good", tmp_path / "mirror-bad"
    write_set(good, raw)
    bad.mkdir()
    for name in NAMES:  # the first mirror serves the wrong content
        (bad / f"{name}.gz").write_bytes(gzip.compress(b"wrong"))
    monkeypatch.setattr(data, "MIRRORS", [bad.as_uri() + "/", good.as_uri() + "/"])
    found = data.find_fashion_mnist()
    assert {origin for _, origin in found.values()} == {"downloaded"}
    for name in NAMES:
        kept = data.cache_dir() / f"{name}.gz"
        assert gzip.decompress(kept.read_bytes()) == raw[name]
    assert sorted(p.name for p in data.cache_dir().iterdir()) == sorted(f"{n}.gz" for n in NAMES)


def test_failed_download_says_what_to_do(fixture_set, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "MIRRORS", [(tmp_path / "nowhere").as_uri() + "/"])
    with pytest.raises(data.DataError, match="dataset-fashion-mnist"):
        data.find_fashion_mnist()
    assert not any(data.cache_dir().iterdir())  # nothing half-written was kept


@pytest.mark.skipif(not data.SYSTEM_DIR.is_dir(), reason="dataset-fashion-mnist not installed")
def test_real_data_verifies(capsys):
    assert cli.main(["data", "--no-download"]) == 0
    assert "60000 training and 10000 test images" in capsys.readouterr().out
