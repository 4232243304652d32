"""Data-parallel training: 2 gloo processes train as one process does, checkpoints and resume.

The 2-process test forks its ranks (``tlworkbench.distributed.launch``, a file rendezvous, no
port), so that they start at once.
"""

from __future__ import annotations

import os
import shutil
import warnings

import pytest
import torch

from tlworkbench import data as datasets
from tlworkbench import training, zoo
from tlworkbench.distributed import data_parallel, fit_data_parallel, launch, shard, world
from tlworkbench.distributed.data_parallel import ShardedDataset, ShardedLoader, _rank_stream
from tlworkbench.errors import InvalidParameterError
from tlworkbench.zoo.weights import load_state_dict

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIZE = 16
# 192 images in global batches of 32: 6 full batches an epoch, 3 epochs; BatchNorm in every block
ARGS = {"strategy": "fine_tune", "epochs": 3, "lr": 1e-2, "batch_size": 32, "min_steps": 0, "progress": False,
        "seed": 0}
# Measured: the largest difference of any weight or BatchNorm statistic between the 2-process run
# and the one-process run was about 1e-6 (float rounding: sums in another order); 1e-4 leaves room
# for other CPUs without letting a wrong average through (halving one rank's gradient moves the
# weights by about 1e-2).
TOLERANCE = 1e-4


def _data():
    train = datasets.load_dataset("mnist", max_size=192)
    val = datasets.load_dataset("mnist", split="test", max_size=64)
    return train, val


def _model(seed: int = 0) -> zoo.TransferModel:
    return zoo.load_model("small_cnn", num_classes=10, image_size=SIZE, seed=seed, weights=None)


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _largest_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a if a[k].is_floating_point())


def _train_on_ranks(train, val, checkpoint=None, stop_after=None, resume=False):
    """What every rank runs; rank 0's weights and history come back."""
    model = _model(seed=5 if resume else 0)  # a resumed run gets its weights from the checkpoint

    def stop(epoch, history):
        if stop_after is not None and epoch == stop_after:
            raise KeyboardInterrupt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = fit_data_parallel(model, train, val, checkpoint=checkpoint, resume=resume, callbacks=[stop], **ARGS)
    return _state(model), history


def _whole_then_interrupted_and_resumed(train, val, folder):
    """A whole run; then one stopped after epoch 1 (its checkpoint copied aside) and resumed."""
    whole = _train_on_ranks(train, val)
    path = f"{folder}/run.pt"
    _, part = _train_on_ranks(train, val, checkpoint=path, stop_after=1)
    written = os.path.exists(path)
    if world()[0] == 0:  # kept for a one-process resume
        shutil.copy(path, f"{folder}/epoch1.pt")
    resumed = _train_on_ranks(train, val, checkpoint=path, resume=True)
    return {"size": world()[1], "whole": whole, "resumed": resumed, "written": written,
            "interrupted": part.interrupted and part.epochs == 1}


def test_two_processes_train_as_one_and_resume_from_rank_zeros_checkpoint(tmp_path):
    train, val = _data()
    single = _model()
    reference = training.fit(single, train, val, **ARGS)
    # fork: the ranks start at once (spawn would import torch and the package again in each)
    out = launch(_whole_then_interrupted_and_resumed, train, val, str(tmp_path), world_size=2, backend="gloo",
                 threads=1, start_method="fork")
    assert out["size"] == 2
    state, history = out["whole"]
    gap = _largest_difference(state, _state(single))
    assert gap < TOLERANCE, f"weights differ by {gap:.2e}"
    # validation reads the whole set on every rank: the same accuracies, the same best epoch
    ours = history.frame.query("split == 'val'")["accuracy"].to_numpy()
    theirs = reference.frame.query("split == 'val'")["accuracy"].to_numpy()
    assert abs(ours - theirs).max() <= 1 / 64 and history.best_epoch == reference.best_epoch

    # rank 0 wrote the checkpoint (the other rank nothing); the resumed run ends where the whole one does
    assert out["interrupted"] and out["written"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch1.pt", "run.pt"]
    state, history = out["resumed"]
    assert history.epochs == ARGS["epochs"] and not history.interrupted
    assert _largest_difference(state, _state(single)) < TOLERANCE
    # the checkpoint counts the global set: one process resumes the 2-process run's epoch 1 to the same end
    again = _model(seed=7)
    training.fit(again, train, val, resume=tmp_path / "epoch1.pt", **ARGS)
    assert _largest_difference(_state(again), _state(single)) < TOLERANCE


def test_shards_are_disjoint_and_cover_each_global_batch():
    train, _ = _data()
    seen = []
    for rank in range(2):
        loader = ShardedLoader(train, 32, rank=rank, world_size=2, shuffle=True, seed=3)
        loader.epoch = 1
        seen.append([y for _, y in loader])
    whole = train.loader(32, shuffle=True, seed=3)
    whole.epoch = 1
    for b, (_, y) in enumerate(whole):
        mine = torch.cat([seen[0][b], seen[1][b]])
        assert len(seen[0][b]) == len(seen[1][b]) == 16
        assert sorted(mine.tolist()) == sorted(y.tolist())
    with pytest.raises(InvalidParameterError, match="multiple of the 2 ranks"):
        ShardedLoader(train, 33, rank=0, world_size=2)
    # a last global batch that would leave a rank a single example is dropped
    odd = train.subset(range(34))
    batches = list(ShardedLoader(odd, 32, rank=1, world_size=2, shuffle=True))
    assert [len(y) for _, y in batches] == [16]
    # the wrapper is the training set for everything but the shuffled loader
    wrapped = ShardedDataset(train, 0, 2)
    assert len(wrapped) == len(train) and wrapped.classes == train.classes
    assert len(wrapped.loader(64)) == len(train.loader(64))
    assert isinstance(wrapped.with_transform(_model()), ShardedDataset)


def test_outside_a_process_group_nothing_changes():
    train, val = _data()
    assert world() == (0, 1) and shard(train) is train
    model = _model()
    with data_parallel(model) as same:
        assert same is model
    a, b = _model(), _model()
    fit_data_parallel(a, train, val, **{**ARGS, "epochs": 1})
    training.fit(b, train, val, **{**ARGS, "epochs": 1})
    assert _largest_difference(_state(a), _state(b)) == 0


def _augmented_runs(train, val, folder):
    """What every rank runs: one run without augmentation, two alike with it, and one with it stopped
    after epoch 1 and resumed; rank 0's weights."""
    runs = {}
    path = f"{folder}/augmented.pt"

    def stop(epoch, history):
        if epoch == 1:
            raise KeyboardInterrupt

    for name, augment, extra in (("plain", None, {}), ("light", "light", {}), ("again", "light", {}),
                                 ("stopped", "light", {"checkpoint": path, "callbacks": [stop]}),
                                 ("resumed", "light", {"checkpoint": path, "resume": True})):
        model = _model(seed=5 if name == "resumed" else 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = fit_data_parallel(model, train, val, augment=augment, **{**ARGS, "epochs": 2}, **extra)
        runs[name] = _state(model)
        if name == "stopped":
            runs["interrupted"] = history.interrupted and history.epochs == 1
            if world()[0] == 0:  # rank 0 writes the checkpoint and returns the runs
                runs["recorded"] = load_state_dict(path, what="checkpoint")["config"]["augment"]
    return runs


def test_two_processes_augment_their_own_slices_reproducibly(tmp_path):
    train, val = _data()
    train, val = train.subset(range(128)), val.subset(range(32))  # 4 global batches an epoch: five short runs
    runs = launch(_augmented_runs, train, val, str(tmp_path), world_size=2, backend="gloo", threads=1,
                  start_method="fork")
    # each epoch's draws come from (seed, epoch, rank): a resumed run ends where the whole one does
    assert runs["interrupted"] and _largest_difference(runs["resumed"], runs["light"]) == 0
    assert runs["recorded"] == "light"  # the checkpoint's settings name the ranks' augmentation
    # the same seed gives the same augmented run; augmentation changes what is learnt (measured: the
    # largest difference of a weight or BatchNorm statistic from the plain run was 2.5)
    assert _largest_difference(runs["light"], runs["again"]) == 0
    assert _largest_difference(runs["light"], runs["plain"]) > 1e-3


def test_each_rank_augments_its_slice_from_its_own_stream():
    train, _ = _data()
    model = _model()
    train = train.with_transform(model)
    views = [ShardedDataset(train, rank, 2, augment="light") for rank in range(2)]
    plain = [ShardedLoader(train, 32, rank=rank, world_size=2, shuffle=True, seed=3) for rank in range(2)]

    def first_batches(loader, epoch=1):
        loader.epoch = epoch
        return [x for x, _ in loader][:2]

    before = torch.get_rng_state()
    a = first_batches(views[0].loader(32, shuffle=True, seed=3))
    assert torch.equal(torch.get_rng_state(), before)  # dropout's generator is left as it was
    again = first_batches(views[0].loader(32, shuffle=True, seed=3))
    assert all(torch.equal(x, y) for x, y in zip(a, again))  # the same seed and epoch: the same draws
    assert not torch.equal(a[0], first_batches(plain[0])[0])  # the slice is augmented
    assert not torch.equal(a[0], first_batches(views[0].loader(32, shuffle=True, seed=3), epoch=2)[0])
    # rank 1 augments its own images from another stream than rank 0's
    assert not torch.equal(_rank_stream(3, 1, 0), _rank_stream(3, 1, 1))
    b = first_batches(views[1].loader(32, shuffle=True, seed=3))
    assert not torch.equal(b[0], first_batches(plain[1])[0])
    # reading in order (features, validation) sees the whole set as it is
    whole = next(iter(views[0].loader(64)))[0]
    assert torch.equal(whole, next(iter(train.loader(64)))[0])
    assert isinstance(views[0].with_transform(model), ShardedDataset)
    assert views[0].with_transform(model).augment == "light"
