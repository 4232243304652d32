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
from tlworkbench.distributed.data_parallel import ShardedDataset, ShardedLoader
from tlworkbench.errors import InvalidParameterError

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
