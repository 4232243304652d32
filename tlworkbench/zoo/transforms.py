"""Input transforms that belong to a model's weights.

A transform here works on whole batches held as tensors (``(N, C, H, W)``, uint8 or float), not
on single PIL images: the offline data sets live in memory as one tensor, and resizing a batch at
once is what keeps the loader far ahead of the model on a CPU. torchvision's per-image transforms
would do the same work one image at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from .._validate import check_choice, check_int, param_error
from ..errors import DataError, InvalidParameterError, MissingAssetError

__all__ = ["ImageTransform", "TextTransform", "to_float_batch"]


def to_float_batch(images: torch.Tensor) -> torch.Tensor:
    """Return ``images`` as float32 ``(N, C, H, W)`` in [0, 1] (uint8 is divided by 255).

    Raises:
        DataError: the tensor is not shaped ``(N, C, H, W)`` or ``(N, H, W)``.
    """
    if images.ndim == 3:
        images = images.unsqueeze(1)
    if images.ndim != 4:
        raise DataError(
            f"Images must be shaped (N, C, H, W) or (N, H, W). Got shape {tuple(images.shape)} instead."
        )
    if images.dtype == torch.uint8:
        return images.float().div_(255.0)
    return images.float()


@dataclass(frozen=True)
class ImageTransform:
    """Resize, match channels and normalise a batch of images for one model.

    Attributes:
        size: output side length in pixels (square images).
        channels: 1 or 3; grayscale is repeated to 3 channels, colour is averaged to 1.
        mean: per-channel mean subtracted after scaling to [0, 1].
        std: per-channel standard deviation divided by.

    Example:
        >>> t = ImageTransform(size=64, channels=3, mean=(0.5,) * 3, std=(0.5,) * 3)
        >>> t(torch.zeros(2, 1, 28, 28, dtype=torch.uint8)).shape
        torch.Size([2, 3, 64, 64])
    """

    size: int
    channels: int = 3
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)
    std: tuple[float, ...] = (0.5, 0.5, 0.5)

    def __post_init__(self) -> None:
        # frozen: normalised values (np.int64 -> int, lists -> tuples) go in through object.__setattr__
        object.__setattr__(self, "size", check_int(self.size, "size", "ImageTransform", minimum=1))
        check_choice(self.channels, "channels", "ImageTransform", (1, 3), error=InvalidParameterError)
        object.__setattr__(self, "channels", int(self.channels))
        for name in ("mean", "std"):
            values = getattr(self, name)
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) != self.channels:
                raise param_error(name, "ImageTransform", f"a sequence of {self.channels} numbers, one per channel",
                                  values)
            object.__setattr__(self, name, tuple(float(v) for v in values))

    def with_size(self, size: int) -> ImageTransform:
        """The same transform at another image size."""
        return ImageTransform(size, self.channels, self.mean, self.std)

    def resize(self, images: torch.Tensor) -> torch.Tensor:
        """Resize and match channels; keeps uint8 as uint8 (what the data cache stores).

        Raises:
            DataError: the images have a channel count that cannot be turned into ``channels``.
        """
        was_uint8 = images.dtype == torch.uint8
        x = to_float_batch(images)
        c = x.shape[1]
        if c == 1 and self.channels == 3:
            x = x.expand(-1, 3, -1, -1)
        elif c == 3 and self.channels == 1:
            x = x.mean(dim=1, keepdim=True)
        elif c != self.channels:
            raise DataError(f"Cannot turn images with {c} channels into {self.channels} channels; "
                            "the transform reads 1 or 3.")
        if x.shape[-2:] != (self.size, self.size):
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear",
                              align_corners=False, antialias=True)
        if was_uint8:
            return x.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)
        return x.contiguous()

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Scale to [0, 1] and normalise with ``mean`` and ``std`` (no resizing)."""
        x = to_float_batch(images)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        return (x - mean) / std

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Resize, match channels and normalise: what the model reads."""
        return self.normalize(self.resize(images))


@dataclass(frozen=True)
class TextTransform:
    """Tokenise a list of texts for a transformers encoder stored in ``folder``.

    Attributes:
        folder: the model folder holding the tokenizer files.
        max_length: texts are truncated to this many tokens.
    """

    folder: object
    max_length: int = 128

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_length", check_int(self.max_length, "max_length", "TextTransform", minimum=1))

    def tokenizer(self) -> Any:
        """The tokenizer, loaded offline from ``folder`` once per process."""
        return _tokenizer(str(self.folder))

    def __call__(self, texts: list[str] | str) -> dict[str, torch.Tensor]:
        if isinstance(texts, str):
            texts = [texts]
        enc = self.tokenizer()(list(texts), padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt")
        return dict(enc)


def require_transformers() -> Any:
    """The ``transformers`` package, or a MissingAssetError that says how to install it."""
    try:
        import transformers
    except ImportError as err:
        raise MissingAssetError("The text models need the transformers package, an optional part of "
                                "tlworkbench. Install it with: pip install 'tlworkbench[text]'") from err
    return transformers


# a tokenizer takes a second to build; transforms are rebuilt often (one per loaded model)
_TOKENIZERS: dict[str, Any] = {}


def _tokenizer(folder: str) -> Any:
    if folder not in _TOKENIZERS:
        _TOKENIZERS[folder] = require_transformers().AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return _TOKENIZERS[folder]
