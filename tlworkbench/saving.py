"""Saving a trained model whole, and exporting it for use without the workbench.

:func:`save_model` writes one sealed file (the weights, the name of the architecture's card,
the class names, the transforms and the metrics) that :func:`tlworkbench.load_model` reads back
from its path: the digest inside is checked and the file is read with
``torch.load(..., weights_only=True)``, so loading a file runs no code from it, unlike
``torch.save(model)`` / ``torch.load`` of a whole module (pickle). :func:`export` writes a graph
that runs without Python's workbench: ONNX (for onnxruntime and most serving stacks) or
``torch.export`` (a program that ``torch.export.load`` reads back).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ._validate import check_choice, check_int, check_optional, check_type, param_error
from .errors import MissingAssetError
from .zoo import ImageTransform, TransferModel
from .zoo.loading import SAVED_MODEL_FORMAT, read_saved_model
from .zoo.weights import save_state_dict

__all__ = ["EXPORT_FORMATS", "save_model", "read_saved_model", "export", "export_inputs"]

#: What :func:`export` writes.
EXPORT_FORMATS = ("onnx", "torch_export")


def _plain(value: Any, where: str) -> Any:
    """``value`` as what ``weights_only`` loading accepts: numbers, str, bool, None, lists, dicts."""
    if isinstance(value, (bool, str)) or value is None:
        return value
    if isinstance(value, (int, float)) or hasattr(value, "item"):
        v = value.item() if hasattr(value, "item") else value
        return float(v) if isinstance(v, float) and math.isfinite(v) or not isinstance(v, float) else str(v)
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise param_error("metrics", "save_model", "a dict of numbers, strings, lists or dicts",
                      type(value).__name__, hint=f"{where} holds it.")


def _transforms_entry(model: TransferModel) -> dict[str, Any]:
    t = model.transforms
    if isinstance(t, ImageTransform):
        return {"kind": "image", "size": t.size, "channels": t.channels, "mean": list(t.mean), "std": list(t.std)}
    return {"kind": "text", "max_length": int(getattr(t, "max_length", model.spec.input_size))}


def save_model(model: TransferModel, path: str | os.PathLike, *, metrics: dict[str, Any] | None = None) -> Path:
    """Save a model whole, to read back with ``tlw.load_model(path)``.

    The file holds the weights (every parameter and buffer, on the CPU), the name of the zoo
    card that builds the architecture, the class names, the transforms (image size, channels,
    normalisation; a text model's token limit), the BatchNorm policy, the learning-rate
    multipliers and ``metrics``. It is written atomically and sealed with its sha256.

    Args:
        model: a :class:`~tlworkbench.zoo.TransferModel`.
        path: the file (``.pt`` by convention); its folder is created.
        metrics: numbers to keep with the model (test accuracy, n ...), over ``model.metrics``.

    Returns:
        The path written.

    Raises:
        InvalidParameterError: ``model`` is not a TransferModel, or ``metrics`` holds other objects.

    Example:
        >>> tlw.save_model(model, "emoji.pt", metrics={"test_accuracy": 0.93})   # doctest: +SKIP
        >>> again = tlw.load_model("emoji.pt")                                   # doctest: +SKIP
    """
    func = "save_model"
    check_type(model, "model", func, TransferModel, "a TransferModel from tlw.load_model")
    check_type(path, "path", func, (str, os.PathLike), "a file path")
    check_optional(metrics, check_type, "metrics", func, dict, "a dict or None")
    merged = {**getattr(model, "metrics", {}), **(metrics or {})}
    content = {
        "format": SAVED_MODEL_FORMAT[0], "version": SAVED_MODEL_FORMAT[1], "name": model.name,
        "classes": [str(c) for c in model.classes] if model.classes is not None else None,
        "transforms": _transforms_entry(model), "weights": model.weights, "bn_policy": model.bn_policy,
        "lr_mult": {str(k): float(v) for k, v in model.lr_mult.items()}, "metrics": _plain(merged, "metrics"),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    path = Path(path).expanduser()
    save_state_dict(content, path)
    return path


def export_inputs(model: TransferModel, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Example inputs for :func:`export`: normalised images, or a text model's token ids and mask."""
    t = model.transforms
    g = torch.Generator().manual_seed(0)
    if isinstance(t, ImageTransform):
        return (torch.rand(batch, t.channels, t.size, t.size, generator=g) * 2 - 1,)
    enc = t(["an example sentence"] * batch)
    return enc["input_ids"], enc["attention_mask"]


class _TextLogits(nn.Module):
    """A text model with positional inputs (exporters take tensors, not a dict)."""

    def __init__(self, model: TransferModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model({"input_ids": input_ids, "attention_mask": attention_mask})


def export(model: TransferModel, path: str | os.PathLike, *, format: str = "onnx", opset: int | None = None,
           example: tuple[torch.Tensor, ...] | None = None) -> Path:
    """Export the model's forward pass (normalised input -> logits) for use without the workbench.

    The graph takes what the model reads after its transforms: images ``(N, C, H, W)``
    normalised with the card's mean and std at ``model.transforms.size`` (text models: token ids
    and attention mask); the batch size is dynamic. It returns logits; a softmax gives the
    probabilities. The class names and the preprocessing travel with the file: ONNX metadata
    (``classes``, ``transforms`` as JSON) or, for ``torch_export``, extra files
    ``classes.json`` and ``transforms.json`` in the archive.

    Args:
        model: a :class:`~tlworkbench.zoo.TransferModel` (it is exported on the CPU, in eval mode).
        path: the file to write (``.onnx`` or ``.pt2`` by convention).
        format: ``"onnx"`` (read with onnxruntime) or ``"torch_export"`` (read with
            ``torch.export.load``).
        opset: ONNX opset (default: the exporter's).
        example: example inputs (default: :func:`export_inputs`).

    Returns:
        The path written.

    Raises:
        UnknownNameError: an unknown ``format``.
        InvalidParameterError: a model that is not a TransferModel.
        MissingAssetError: ``format="onnx"`` without the onnx and onnxscript packages.

    Example:
        >>> tlw.export(model, "emoji.onnx")                       # doctest: +SKIP
        >>> import onnxruntime                                    # doctest: +SKIP
        >>> session = onnxruntime.InferenceSession("emoji.onnx")  # doctest: +SKIP
    """
    func = "export"
    check_type(model, "model", func, TransferModel, "a TransferModel from tlw.load_model")
    check_type(path, "path", func, (str, os.PathLike), "a file path")
    format = check_choice(format, "format", func, EXPORT_FORMATS)
    opset = check_optional(opset, check_int, "opset", func, minimum=7)
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    device = next(model.parameters()).device
    was_training = model.training
    model.cpu().eval()
    text = not isinstance(model.transforms, ImageTransform)
    module: nn.Module = _TextLogits(model) if text else model
    inputs = tuple(example) if example is not None else export_inputs(model)
    names = ["input_ids", "attention_mask"] if text else ["images"]
    batch = torch.export.Dim("batch", min=1)
    dynamic = tuple({0: batch} for _ in names)
    meta = {"classes": json.dumps(model.classes), "transforms": json.dumps(_transforms_entry(model)),
            "model": model.name}
    try:
        with torch.no_grad():
            if format == "onnx":
                _export_onnx(module, inputs, path, names, dynamic, meta, opset)
            else:
                program = torch.export.export(module, inputs, dynamic_shapes=dynamic)
                torch.export.save(program, path, extra_files={"classes.json": meta["classes"],
                                                              "transforms.json": meta["transforms"]})
    finally:
        model.to(device).train(was_training)
    return path


def _export_onnx(module: nn.Module, inputs: tuple[torch.Tensor, ...], path: Path, names: list[str],
                 dynamic: tuple[dict[int, Any], ...], meta: dict[str, str], opset: int | None) -> None:
    try:
        import onnx
        import onnxscript  # noqa: F401  (the exporter needs it)
    except ImportError as err:
        raise MissingAssetError("ONNX export needs the onnx and onnxscript packages. Install them with: "
                                "pip install 'tlworkbench[export]' (or: pip install onnx onnxscript)") from err
    kwargs = {"opset_version": opset} if opset is not None else {}
    program = torch.onnx.export(module, inputs, input_names=names, output_names=["logits"], dynamic_shapes=dynamic,
                                dynamo=True, verbose=False, **kwargs)
    proto = program.model_proto
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        onnx.save_model(proto, str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
