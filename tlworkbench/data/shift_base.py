"""What every domain shift is: a seeded transform of a uint8 image batch with a strength in [0, 1].

Strength 0 returns the images unchanged, and the change grows with the strength. Every random
choice is drawn from the ``seed`` given to the call (chunk by chunk, so a large set needs little
memory), so the same seed gives the same images. Shifts compose with :class:`Compose` or ``+``;
the kinds themselves are in :mod:`tlworkbench.data.shift_kinds`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import torch

from .._validate import check_float, check_int, param_error

__all__ = ["CHUNK", "Shift", "Compose", "as_batch", "chunk_seed", "to_uint8"]

# Shifts work on chunks of this many images, so float intermediates stay small on big sets.
CHUNK = 1024


def as_batch(images: Any, func: str) -> torch.Tensor:
    """``images`` as a uint8 ``(N, C, H, W)`` tensor with 1 or 3 channels (``(N, H, W)`` gains a channel).

    Raises:
        InvalidParameterError: anything else.
    """
    if not isinstance(images, torch.Tensor):
        raise param_error("images", func, "a uint8 torch.Tensor (N, C, H, W)", type(images).__name__,
                          hint="Use dataset.images or shift_dataset(dataset, ...).")
    x = images.unsqueeze(1) if images.ndim == 3 else images
    if x.ndim != 4 or x.dtype != torch.uint8 or x.shape[1] not in (1, 3):
        raise param_error("images", func, "a uint8 tensor (N, C, H, W) with 1 or 3 channels",
                          f"{x.dtype} {tuple(images.shape)}")
    return x


def to_uint8(y: torch.Tensor) -> torch.Tensor:
    """Round and clip a float batch back to uint8 (in place)."""
    return y.round_().clamp_(0, 255).to(torch.uint8)


def chunk_seed(seed: int, k: int) -> int:
    """The seed of the ``k``-th chunk (or part) of a call seeded with ``seed``."""
    return (int(seed) * 1_000_003 + k * 7919) % (2**63 - 1)


@dataclass(frozen=True)
class Shift:
    """A domain shift of uint8 image batches; subclasses implement ``_apply``.

    Attributes:
        strength: how strong the shift is, in [0, 1]; 0 leaves the images unchanged.

    Raises:
        InvalidParameterError: ``strength`` is not a number in [0, 1].

    Example:
        >>> blurred = Blur(0.5)(images, seed=0)          # doctest: +SKIP
        >>> (Blur(0.5) + Noise(0.2)).name                 # doctest: +SKIP
        'blur0.5+noise0.2'
    """

    strength: float = 1.0
    kind: ClassVar[str] = "shift"

    def __post_init__(self) -> None:
        strength = check_float(self.strength, "strength", type(self).__name__, minimum=0.0, maximum=1.0)
        object.__setattr__(self, "strength", strength)

    @property
    def label(self) -> str:
        """The shift's kind as it appears in names (``"blur"``)."""
        return self.kind

    @property
    def name(self) -> str:
        """The kind and strength, as in domain labels: ``"blur0.5"``."""
        return f"{self.label}{self.strength:g}"

    def with_strength(self, strength: float) -> Shift:
        """The same shift at another strength."""
        return replace(self, strength=strength)

    def __add__(self, other: Shift | Compose) -> Compose:
        return Compose([self, other])

    def __call__(self, images: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
        """Shift a batch.

        Args:
            images: uint8 ``(N, C, H, W)`` (or ``(N, H, W)``), 1 or 3 channels.
            seed: the seed every random choice is drawn from.

        Returns:
            uint8 images of the same size; colour shifts return 3 channels (unless the strength
            is 0).

        Raises:
            InvalidParameterError: ``images`` is not a uint8 batch, or ``seed`` is not an int.
        """
        func = f"{type(self).__name__}.__call__"
        x = as_batch(images, func)
        seed = check_int(seed, "seed", func)
        if self.strength == 0.0 or len(x) == 0:
            return x.clone()
        out = [self._apply(x[start:start + CHUNK], torch.Generator().manual_seed(chunk_seed(seed, k)))
               for k, start in enumerate(range(0, len(x), CHUNK))]
        return torch.cat(out)

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        raise NotImplementedError


class Compose:
    """Shifts applied one after the other, each with its own seed drawn from the call's seed.

    Args:
        shifts: the shifts, in order (Compose objects are flattened).

    Raises:
        InvalidParameterError: an element is not a shift.

    Example:
        >>> Compose([Blur(0.5), Noise(0.3)]).name        # doctest: +SKIP
        'blur0.5+noise0.3'
    """

    def __init__(self, shifts: Sequence[Shift | Compose]) -> None:
        flat: list[Shift] = []
        for s in shifts:
            if isinstance(s, Compose):
                flat.extend(s.shifts)
            elif isinstance(s, Shift):
                flat.append(s)
            else:
                raise param_error("shifts", "Compose", "a sequence of Shift or Compose objects", s)
        self.shifts: tuple[Shift, ...] = tuple(flat)

    @property
    def name(self) -> str:
        """The shifts' names joined by ``+``."""
        return "+".join(s.name for s in self.shifts)

    def with_strength(self, strength: float) -> Compose:
        """Every shift at the same strength."""
        return Compose([s.with_strength(strength) for s in self.shifts])

    def __add__(self, other: Shift | Compose) -> Compose:
        return Compose([self, other])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Compose) and other.shifts == self.shifts

    def __hash__(self) -> int:
        return hash(self.shifts)

    def __repr__(self) -> str:
        return f"Compose({list(self.shifts)!r})"

    def __call__(self, images: torch.Tensor, *, seed: int = 0) -> torch.Tensor:
        """Apply every shift in order (see :meth:`Shift.__call__`)."""
        x = as_batch(images, "Compose.__call__")
        seed = check_int(seed, "seed", "Compose.__call__")
        for k, s in enumerate(self.shifts):
            x = s(x, seed=chunk_seed(seed, 10_000 + k))
        return x.clone() if not self.shifts else x
