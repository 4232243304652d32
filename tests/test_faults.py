"""Faults that once slipped through: checkpoints and their digests, resuming into a longer run,
divergence without a NaN, stale feature fingerprints, orphaned temporary files, clear errors
for unusable inputs, and memory that repeated fits keep."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
import urllib.error
import warnings
from pathlib import Path

import pytest
import torch

from tlworkbench import config, features, training, zoo
from tlworkbench import data as datasets
from tlworkbench.data.containers import ImageDataset
from tlworkbench.errors import (CorruptFileError, DataError, IncompatibleWeightsError, MissingAssetError, TLWError,
                                TrainingDivergedError)
from tlworkbench.zoo import weights

SIZE = 16
QUIET = {"progress": False, "batch_size": 32, "min_steps": 0}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def train():
    return datasets.load_dataset("mnist", max_size=200)


def new_model(seed: int = 0, num_classes: int = 10) -> zoo.TransferModel:
    return zoo.load_model("small_cnn", num_classes=num_classes, image_size=SIZE, seed=seed)


def state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


# --- 1. one checkpoint file that carries its own digest ----------------------------------------


def test_a_stop_between_file_and_digest_leaves_a_readable_file(tmp_path, monkeypatch):
    path = tmp_path / "w.pt"
    weights.save_state_dict({"a": torch.zeros(3)}, path)
    real = os.replace

    def killed_before_the_digest(src, dst):
        if str(dst).endswith(".sha256"):
            raise KeyboardInterrupt  # the process stops between the two renames
        real(src, dst)

    monkeypatch.setattr(weights.os, "replace", killed_before_the_digest)
    try:
        weights.save_state_dict({"a": torch.ones(3)}, path)
    except KeyboardInterrupt:
        pass
    monkeypatch.undo()
    assert torch.equal(weights.load_state_dict(path)["a"], torch.ones(3))


def test_resume_accepts_a_checkpoint_beside_a_stale_digest_and_rejects_a_changed_one(train, tmp_path):
    path = tmp_path / "run.pt"
    training.fit(new_model(), train, epochs=1, checkpoint=path, **QUIET)
    side = Path(str(path) + ".sha256")
    side.write_text("0" * 64 + "\n")  # the digest of an earlier epoch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        h = training.fit(new_model(), train, epochs=2, resume=path, **QUIET)
    assert h.epochs == 2
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped bit inside the saved tensors
    path.write_bytes(bytes(data))
    side.unlink(missing_ok=True)
    with pytest.raises(CorruptFileError):
        training.fit(new_model(), train, epochs=3, resume=path, **QUIET)


# --- 2. resuming with more epochs extends the run ----------------------------------------------


@pytest.mark.parametrize("strategy", ["fine_tune", "two_stage"])
def test_resume_with_more_epochs_trains_the_extra_epochs(train, tmp_path, strategy):
    path = tmp_path / "run.pt"
    training.fit(new_model(), train, strategy=strategy, epochs=2, checkpoint=path, **QUIET)
    head = 1 if strategy == "two_stage" else 0  # two_stage: the head epoch, then `epochs`
    with pytest.warns(UserWarning, match=f"epochs: {2 + head} -> {4 + head}"):
        h = training.fit(new_model(seed=3), train, strategy=strategy, epochs=4, resume=path, **QUIET)
    assert h.epochs == 4 + head
    assert h.frame.query("split == 'train'")["epoch"].to_list() == list(range(1, 5 + head))


# --- 3. divergence without a NaN loss ----------------------------------------------------------


def test_a_huge_lr_with_batchnorm_raises_and_leaves_finite_weights(train):
    model = new_model()
    before = state(model)
    with pytest.raises(TrainingDivergedError, match=r"(?s)diverged.*Lower lr") as info:
        training.fit(model, train, epochs=3, lr=1e6, optimizer="sgd", schedule=None, **QUIET)
    assert "running_var" in str(info.value) or "loss" in str(info.value)
    after = state(model)
    assert all(torch.isfinite(v.float()).all() for v in after.values())
    assert all(torch.equal(before[k], after[k]) for k in before)  # epoch 1 diverged: the initial weights


def test_a_loss_that_grows_by_orders_of_magnitude_is_divergence():
    from tlworkbench.training.checkpoint import divergence

    model = new_model()
    assert divergence(model, loss=2.0, first_loss=1.0) is None
    assert "1e+04" in divergence(model, loss=5e4, first_loss=1.0)
    assert "inf" in divergence(model, loss=float("inf"), first_loss=1.0)
    with torch.no_grad():
        model.backbone.state_dict()[next(k for k in model.backbone.state_dict() if "running_var" in k)].fill_(
            float("inf"))
    assert "running_var" in divergence(model, loss=1.0, first_loss=1.0)


# --- 4. fingerprints see every image ------------------------------------------------------------


def test_editing_a_few_images_of_a_large_set_changes_the_fingerprint(monkeypatch):
    monkeypatch.setattr(features, "_FULL_HASH_BYTES", 1 << 20, raising=False)  # any threshold that remains
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (3000, 1, 28, 28), dtype=torch.uint8, generator=g)  # 2.4 MB
    targets = torch.arange(3000) % 10
    classes = [str(i) for i in range(10)]
    before = features.fingerprint_data(ImageDataset(images, targets, classes, name="big"))
    edited = images.clone()
    edited[[1, 2, 3, 4, 6, 7, 8]] = 255 - edited[[1, 2, 3, 4, 6, 7, 8]]  # none in an evenly spaced sample of 512
    after = features.fingerprint_data(ImageDataset(edited, targets, classes, name="big"))
    assert before != after


# --- 5. orphaned temporary files ----------------------------------------------------------------


def test_opening_the_cache_folder_removes_orphaned_temporary_files(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = weights.temporary_prefix("x").split(".")[2]
    orphan_old = tmp_path / ".a.pt.abc123.tmp"  # no owner in its name, two hours old
    orphan_old.write_bytes(b"half")
    old = time.time() - 7200
    os.utime(orphan_old, (old, old))
    orphan_dead = tmp_path / f".b.pt.{host}.{dead.pid}.abc.tmp"  # fresh, but its writer is gone
    orphan_dead.write_bytes(b"half")
    live = tmp_path / f".c.pt.{host}.{os.getpid()}.abc.tmp"  # being written right now
    live.write_bytes(b"half")
    cache = features.FeatureCache(tmp_path)
    assert cache.get("nothing-here") is None
    assert not orphan_old.exists() and not orphan_dead.exists()
    assert live.exists()


# --- 6. clear errors -----------------------------------------------------------------------------


def test_resuming_into_another_head_size_names_the_shapes(train, tmp_path):
    path = tmp_path / "run.pt"
    training.fit(new_model(), train, epochs=1, checkpoint=path, **QUIET)
    other = new_model(num_classes=12)
    with pytest.raises(IncompatibleWeightsError, match=r"head\.\S*weight.*\(10, \d+\).*\(12, \d+\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            training.fit(other, train, epochs=2, resume=path, **QUIET)


def test_one_class_training_data_is_a_data_error(train):
    ones = train.subset((torch.as_tensor(train.targets) == 1).nonzero().flatten())
    with pytest.raises(DataError, match="at least 2 classes"):
        training.fit(new_model(), ones, epochs=1, **QUIET)


def test_an_offline_torchvision_backbone_in_the_full_profile_says_where_to_put_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv("TLW_OFFLINE", raising=False)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(MissingAssetError) as err:
        zoo.load_model("resnet18", profile="full")
    msg = str(err.value)
    assert "resnet18-" in msg and str(tmp_path) in msg and "name resolution" in msg


@pytest.mark.parametrize("call, hint", [
    (lambda: datasets.load_dataset("mnist", split="tset"), "'test'"),
    (lambda: config.get_profile("qiuck"), "'quick'"),
    (lambda: zoo.load_model("small_cnn", weights="pretraned"), "'pretrained'"),
    (lambda: __import__("tlworkbench").freezing.set_bn_policy(new_model(), "trian"), "'train'"),
])
def test_misspelt_names_get_a_did_you_mean(call, hint):
    with pytest.raises(TLWError, match=f"Did you mean {hint}"):
        call()


# --- 7. memory after repeated fits ----------------------------------------------------------------


def _rss_mib() -> float:
    gc.collect()
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # Linux without psutil
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    pytest.skip("no way to read the resident set size here")


def test_repeated_two_stage_fits_do_not_grow_memory(train):
    model = new_model()
    cache = features.FeatureCache()
    rss = []
    for _ in range(5):
        training.fit(model, train, strategy="two_stage", epochs=2, head_epochs=1, cache=cache, **QUIET)
        rss.append(_rss_mib())
    assert rss[4] - rss[1] < 50, rss
    # each fit changes the backbone: the features of its earlier weights can never be asked for again
    assert len(cache) == 1


def test_features_of_other_models_stay_cached(train):
    cache = features.FeatureCache()
    a, b = new_model(), new_model()
    features.extract_features(a, train, cache=cache)
    features.extract_features(b, train, cache=cache)  # the same weights: served from memory
    with torch.no_grad():
        next(b.backbone.parameters()).add_(1.0)
    features.extract_features(b, train, cache=cache)
    assert (cache.hits, cache.misses, len(cache)) == (1, 2, 2)
