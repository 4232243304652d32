"""Domain shifts: controlled changes of an image set, and named source -> target pairs.

A shift is a transform of a uint8 image batch ``(N, C, H, W)`` with a ``strength`` in [0, 1]:
strength 0 returns the images unchanged, and the change grows with the strength. Every random
choice (noise, photo patches, colours, rotation signs, displacement fields) is drawn from the
``seed`` given to the call, so the same seed gives the same images. Shifts compose with
:class:`Compose` or ``+`` (``Blur(0.5) + Noise(0.3)``), and :func:`make_shift` builds them from
their names (``"blur0.5+noise0.3"``), the same names that label the shifted domains
(``"mnist+blur0.5"``).

The notebooks on domain mismatch take their data from :func:`load_pair`: a source set and a
target set (another collection of digits, or the source itself shifted), both as train and test.

This module stands on :mod:`tlworkbench.datasets`; that module does not import this one, so a
shifted set is made here (:func:`shift_dataset`, :func:`load_pair`), not by a registered name.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .config import Profile
from .datasets import ImageDataset, list_datasets, load_dataset
from .errors import DataError, MissingAssetError, UnknownDatasetError, UnknownNameError, did_you_mean

__all__ = [
    "Shift",
    "Resolution",
    "Thickness",
    "Invert",
    "Colour",
    "Background",
    "Noise",
    "Blur",
    "Rotation",
    "Elastic",
    "Compose",
    "SHIFT_KINDS",
    "PHOTOS",
    "make_shift",
    "list_shifts",
    "shift_dataset",
    "DomainPair",
    "DOMAIN_PAIRS",
    "domain_pairs",
    "load_pair",
]

# Shifts work on chunks of this many images, so float intermediates stay small on big sets.
CHUNK = 1024
# Photos inside scikit-image (no download) that MNIST-M-style backgrounds are cut from; each is
# public domain or CC0 (see its docstring in skimage.data).
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry")


def _as_batch(images: Any, func: str) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"The 'images' parameter of {func} must be a uint8 torch.Tensor (N, C, H, W). "
                        f"Got {type(images).__name__} instead; use dataset.images or shift_dataset(dataset, ...).")
    x = images.unsqueeze(1) if images.ndim == 3 else images
    if x.ndim != 4 or x.dtype != torch.uint8 or x.shape[1] not in (1, 3):
        raise ValueError(f"The 'images' parameter of {func} must be a uint8 tensor (N, C, H, W) with 1 or 3 "
                         f"channels. Got {x.dtype} {tuple(images.shape)} instead.")
    return x


def _to_uint8(y: torch.Tensor) -> torch.Tensor:
    return y.round_().clamp_(0, 255).to(torch.uint8)


def _chunk_seed(seed: int, k: int) -> int:
    return (int(seed) * 1_000_003 + k * 7919) % (2**63 - 1)


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of a float batch, edges replicated."""
    radius = max(1, math.ceil(3.0 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _grey3(x: torch.Tensor) -> torch.Tensor:
    """A float batch with 3 channels (grey repeated)."""
    x = x.float()
    return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x


@dataclass(frozen=True)
class Shift:
    """A domain shift of uint8 image batches; subclasses implement ``_apply``.

    Attributes:
        strength: how strong the shift is, in [0, 1]; 0 leaves the images unchanged.

    Example:
        >>> blurred = Blur(0.5)(images, seed=0)          # doctest: +SKIP
        >>> (Blur(0.5) + Noise(0.2)).name
        'blur0.5+noise0.2'
    """

    strength: float = 1.0
    kind: ClassVar[str] = "shift"

    def __post_init__(self) -> None:
        s = self.strength
        if (isinstance(s, bool) or not isinstance(s, (int, float, np.integer, np.floating))
                or not 0.0 <= float(s) <= 1.0):
            raise ValueError(f"The 'strength' parameter of {type(self).__name__} must be a number in [0, 1]. "
                             f"Got {s!r} instead.")
        object.__setattr__(self, "strength", float(s))

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
            uint8 images of the same size; :class:`Colour` and :class:`Background` return 3
            channels (unless the strength is 0).

        Raises:
            TypeError, ValueError: ``images`` is not a uint8 batch.
        """
        x = _as_batch(images, f"{type(self).__name__}.__call__")
        if self.strength == 0.0 or len(x) == 0:
            return x.clone()
        out = [self._apply(x[start:start + CHUNK], torch.Generator().manual_seed(_chunk_seed(seed, k)))
               for k, start in enumerate(range(0, len(x), CHUNK))]
        return torch.cat(out)

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        raise NotImplementedError


@dataclass(frozen=True)
class Resolution(Shift):
    """Down-sample, then up-sample back: detail is lost (a low-resolution camera, a thumbnail).

    Attributes:
        strength: at 1 the images pass through ``min_fraction`` of their side.
        min_fraction: the smallest intermediate side, as a fraction of the side (at least 2 px).
    """

    min_fraction: float = 0.15
    kind: ClassVar[str] = "lowres"

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        h, w = x.shape[-2:]
        f = 1.0 - self.strength * (1.0 - self.min_fraction)
        small = (max(2, round(h * f)), max(2, round(w * f)))
        if small == (h, w):
            return x.clone()
        y = F.interpolate(x.float(), size=small, mode="bilinear", align_corners=False, antialias=True)
        return _to_uint8(F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False))


@dataclass(frozen=True)
class Thickness(Shift):
    """Thicker (grey dilation) or thinner (grey erosion) strokes, as another pen would draw.

    Attributes:
        strength: at 1 the strokes grow (or shrink) by ``max_radius`` pixels on each side.
        thinner: erode instead of dilate.
        max_radius: pixels at strength 1 (``None``: a 14th of the side, 2 px at 28 px, when
            thicker; a 28th, 1 px at 28 px, when thinner, as MNIST strokes are 2 to 3 px wide).
    """

    thinner: bool = False
    max_radius: float | None = None
    kind: ClassVar[str] = "thick"

    @property
    def label(self) -> str:
        return "thin" if self.thinner else "thick"

    def _step(self, y: torch.Tensor) -> torch.Tensor:
        if self.thinner:
            return -F.max_pool2d(-y, 3, stride=1, padding=1)
        return F.max_pool2d(y, 3, stride=1, padding=1)

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        default = max(1.0, x.shape[-1] / (28 if self.thinner else 14))
        radius = self.strength * (self.max_radius if self.max_radius is not None else default)
        whole, frac = int(radius), radius - int(radius)
        y = x.float()
        for _ in range(whole):
            y = self._step(y)
        if frac > 0:  # a fractional radius blends two whole ones, so the change grows smoothly
            y = (1.0 - frac) * y + frac * self._step(y)
        return _to_uint8(y)


@dataclass(frozen=True)
class Invert(Shift):
    """Blend towards the photographic negative (dark digits on a light ground at strength 1)."""

    kind: ClassVar[str] = "invert"

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        y = x.float()
        return _to_uint8(y + self.strength * (255.0 - 2.0 * y))


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``(N,)`` hue, saturation, value in [0, 1] -> ``(N, 3)`` RGB in [0, 1]."""
    k = (torch.tensor([5.0, 3.0, 1.0]) + h[:, None] * 6.0) % 6.0
    return v[:, None] - v[:, None] * s[:, None] * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0)


@dataclass(frozen=True)
class Colour(Shift):
    """Paint each image in a random bright colour on a random dark one (as coloured MNIST).

    The image's brightness decides the mix of the two colours, so the shape keeps its contrast
    while the channels no longer agree. The output has 3 channels.
    """

    kind: ClassVar[str] = "colour"

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        n = len(x)
        u = torch.rand(n, 6, generator=g)
        fg = _hsv_to_rgb(u[:, 0], 0.5 + 0.5 * u[:, 1], 0.65 + 0.35 * u[:, 2])
        bg = _hsv_to_rgb(u[:, 3], 0.5 + 0.5 * u[:, 4], 0.45 * u[:, 5])
        x3 = _grey3(x)
        t = x3.mean(dim=1, keepdim=True) / 255.0
        painted = 255.0 * (bg[:, :, None, None] + (fg - bg)[:, :, None, None] * t)
        return _to_uint8((1.0 - self.strength) * x3 + self.strength * painted)


@functools.lru_cache(maxsize=4)
def _photo_bank(names: tuple[str, ...]) -> tuple[torch.Tensor, ...]:
    try:
        import skimage.data
    except ImportError as err:
        raise MissingAssetError("Background needs the photos inside scikit-image, which is not installed. "
                                "Install it with: pip install scikit-image") from err
    return tuple(torch.from_numpy(np.ascontiguousarray(getattr(skimage.data, n)()[..., :3])).permute(2, 0, 1).float()
                 for n in names)


@dataclass(frozen=True)
class Background(Shift):
    """MNIST-M: blend each image with a random patch of a real photo, ``|image - patch|``.

    Patches are cut at random places from scikit-image's own photos (:data:`PHOTOS`: an
    astronaut, a cat, a cup of coffee, a rocket, the Hubble deep field, a tissue stain). The
    output has 3 channels; at strength 1 it is the MNIST-M blend.

    Attributes:
        strength: the weight of the blend.
        photos: names of ``skimage.data`` photos to cut from.
    """

    photos: tuple[str, ...] = PHOTOS
    kind: ClassVar[str] = "background"

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = [p for p in self.photos if p not in PHOTOS]
        if not self.photos or unknown:
            raise ValueError(f"The 'photos' parameter of Background must name photos among {list(PHOTOS)}. "
                             f"Got {list(self.photos)!r} instead.")
        object.__setattr__(self, "photos", tuple(self.photos))

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        n, _, h, w = x.shape
        bank = _photo_bank(self.photos)
        which = torch.randint(len(bank), (n,), generator=g)
        where = torch.rand(n, 2, generator=g)
        patches = torch.empty(n, 3, h, w)
        for i in range(n):
            photo = bank[int(which[i])]
            ph, pw = photo.shape[-2:]
            if ph < h or pw < w:  # images larger than the photo: enlarge the photo first
                scale = max(h / ph, w / pw)
                photo = F.interpolate(photo[None], scale_factor=scale, mode="bilinear", align_corners=False)[0]
                ph, pw = photo.shape[-2:]
            top, left = int(where[i, 0] * (ph - h + 1)), int(where[i, 1] * (pw - w + 1))
            patches[i] = photo[:, top:top + h, left:left + w]
        x3 = _grey3(x)
        return _to_uint8((1.0 - self.strength) * x3 + self.strength * (x3 - patches).abs())


@dataclass(frozen=True)
class Noise(Shift):
    """Additive Gaussian noise (a poor sensor), clipped to [0, 255].

    Attributes:
        strength: the noise's standard deviation is ``strength * max_sigma``.
        max_sigma: the standard deviation at strength 1, in grey levels.
    """

    max_sigma: float = 100.0
    kind: ClassVar[str] = "noise"

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        z = torch.randn(x.shape, generator=g)
        return _to_uint8(x.float() + (self.strength * self.max_sigma) * z)


@dataclass(frozen=True)
class Blur(Shift):
    """Gaussian blur (a camera out of focus).

    Attributes:
        strength: the blur's sigma is ``strength * max_sigma`` times the image side.
        max_sigma: sigma at strength 1 as a fraction of the side (2.2 px at 28 px).
    """

    max_sigma: float = 0.08
    kind: ClassVar[str] = "blur"

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        sigma = self.strength * self.max_sigma * min(x.shape[-2:])
        return _to_uint8(_gaussian_blur(x.float(), max(sigma, 1e-3)))


@dataclass(frozen=True)
class Rotation(Shift):
    """Rotate each image by ``strength * max_degrees``, clockwise or not at random.

    Attributes:
        strength: the angle's share of ``max_degrees``.
        max_degrees: the angle at strength 1.
    """

    max_degrees: float = 90.0
    kind: ClassVar[str] = "rotate"

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        n = len(x)
        sign = torch.randint(0, 2, (n,), generator=g).float() * 2.0 - 1.0
        angle = sign * math.radians(self.strength * self.max_degrees)
        cos, sin = torch.cos(angle), torch.sin(angle)
        zero = torch.zeros(n)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return _to_uint8(F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False))


@dataclass(frozen=True)
class Elastic(Shift):
    """Elastic distortion (as Simard et al. 2003): a smooth random displacement of every pixel.

    The displacement field of each image is drawn once from the seed and scaled by the strength,
    so a stronger shift moves the same pixels further.

    Attributes:
        strength: the field's scale.
        alpha: root-mean-square displacement at strength 1, as a fraction of the side.
        sigma: smoothness of the field, as a fraction of the side.
    """

    alpha: float = 0.06
    sigma: float = 0.15
    kind: ClassVar[str] = "elastic"

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        n, _, h, w = x.shape
        side = min(h, w)
        field = _gaussian_blur(torch.rand(n, 2, h, w, generator=g) * 2.0 - 1.0, self.sigma * side)
        field = field / field.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt().clamp_min(1e-8)
        shift_px = self.strength * self.alpha * side * field  # (n, 2, h, w): dx, dy in pixels
        theta = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]).expand(n, 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        offset = torch.stack([shift_px[:, 0] * (2.0 / w), shift_px[:, 1] * (2.0 / h)], dim=-1)
        return _to_uint8(F.grid_sample(x.float(), grid + offset, mode="bilinear", padding_mode="zeros",
                                       align_corners=False))


class Compose:
    """Shifts applied one after the other, each with its own seed drawn from the call's seed.

    Args:
        shifts: the shifts, in order (Compose objects are flattened).

    Raises:
        TypeError: an element is not a shift.

    Example:
        >>> Compose([Blur(0.5), Noise(0.3)]).name
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
                raise TypeError(f"The 'shifts' parameter of Compose must hold Shift objects. Got "
                                f"{type(s).__name__} instead.")
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
        x = _as_batch(images, "Compose.__call__")
        for k, s in enumerate(self.shifts):
            x = s(x, seed=_chunk_seed(seed, 10_000 + k))
        return x.clone() if not self.shifts else x


SHIFT_KINDS: dict[str, Any] = {
    "lowres": Resolution,
    "thick": Thickness,
    "thin": functools.partial(Thickness, thinner=True),
    "invert": Invert,
    "colour": Colour,
    "background": Background,
    "noise": Noise,
    "blur": Blur,
    "rotate": Rotation,
    "elastic": Elastic,
}

_WHAT = {
    "lowres": "down- then up-sampled (to 15% of the side at strength 1)",
    "thick": "strokes dilated (by a 14th of the side at strength 1)",
    "thin": "strokes eroded (by a 28th of the side at strength 1)",
    "invert": "blended towards the negative",
    "colour": "a random bright colour on a random dark one (3 channels)",
    "background": "MNIST-M: |image - patch of a real photo| (3 channels)",
    "noise": "Gaussian noise (sigma 100 grey levels at strength 1)",
    "blur": "Gaussian blur (sigma 8% of the side at strength 1)",
    "rotate": "rotated by up to 90 degrees, either way",
    "elastic": "elastic distortion (RMS displacement 6% of the side at strength 1)",
}

_PART = re.compile(r"^([a-z_]+?)(\d+(?:\.\d*)?|\.\d+)?$")


def make_shift(spec: str | Shift | Compose) -> Shift | Compose:
    """A shift from its name: ``"blur"`` (strength 1), ``"blur0.5"``, ``"blur0.5+noise0.3"``.

    Args:
        spec: a name as in :func:`list_shifts`, with an optional strength, several joined by
            ``+``; a Shift or Compose is returned as it is.

    Raises:
        UnknownNameError: an unknown kind (with the closest one).
        ValueError: a strength outside [0, 1] or a name that cannot be parsed.

    Example:
        >>> make_shift("blur0.5+noise0.3").name
        'blur0.5+noise0.3'
    """
    if isinstance(spec, (Shift, Compose)):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise TypeError(f"The 'spec' parameter of make_shift must be a shift name such as 'blur0.5'. "
                        f"Got {spec!r} instead.")
    parts = []
    for part in spec.strip().lower().split("+"):
        m = _PART.match(part.strip())
        if m is None:
            raise ValueError(f"Cannot read the shift {part!r} in {spec!r}: write a kind and an optional strength, "
                             f"as 'blur0.5'. Kinds: {list(SHIFT_KINDS)}.")
        kind, strength = m.group(1), m.group(2)
        if kind not in SHIFT_KINDS:
            raise UnknownNameError(f"Unknown shift {kind!r} in {spec!r}.{did_you_mean(kind, SHIFT_KINDS)} "
                                   f"Kinds: {list(SHIFT_KINDS)} (see tlw.shifts.list_shifts()).")
        parts.append(SHIFT_KINDS[kind](float(strength)) if strength is not None else SHIFT_KINDS[kind]())
    return parts[0] if len(parts) == 1 else Compose(parts)


def list_shifts() -> pd.DataFrame:
    """The shift kinds: name, class and what strength 1 does."""
    rows = []
    for kind, cls in SHIFT_KINDS.items():
        cls = getattr(cls, "func", cls)
        rows.append({"kind": kind, "class": cls.__name__, "what": _WHAT[kind]})
    return pd.DataFrame(rows)


def shift_dataset(dataset: ImageDataset, shift: str | Shift | Compose, *, seed: int = 0) -> ImageDataset:
    """A shifted copy of an image set: a new domain with the same labels and classes.

    Args:
        dataset: the set to shift (its transform is kept).
        shift: a Shift, a Compose, or a name for :func:`make_shift`.
        seed: the seed of the shift's random choices.

    Returns:
        An :class:`ImageDataset` named like ``"mnist+blur0.5:train"`` with domain
        ``"mnist+blur0.5"``.

    Raises:
        TypeError: ``dataset`` is not an ImageDataset.

    Example:
        >>> target = shift_dataset(load_dataset("mnist", split="test"), "blur0.5")   # doctest: +SKIP
    """
    if not isinstance(dataset, ImageDataset):
        raise TypeError(f"The 'dataset' parameter of shift_dataset must be an ImageDataset. "
                        f"Got {type(dataset).__name__} instead.")
    shift = make_shift(shift)
    base, sep, split = dataset.name.partition(":")
    return ImageDataset(shift(dataset.images, seed=seed), dataset.targets.clone(), dataset.classes,
                        name=f"{base}+{shift.name}{sep}{split}", domain=f"{dataset.domain}+{shift.name}",
                        transform=dataset.transform)


# --- named source -> target pairs -------------------------------------------------------------------


@dataclass(frozen=True)
class DomainPair:
    """A source and a target for domain-mismatch experiments.

    Attributes:
        name: ``"<source>-><target>"``.
        source: a data set name, optionally with a shift (``"mnist+blur0.5"``).
        target: likewise.
        description: what differs between the two.
    """

    name: str
    source: str
    target: str
    description: str


def _pair(source: str, target: str, description: str, name: str | None = None) -> DomainPair:
    return DomainPair(name or f"{source}->{target}", source, target, description)


DOMAIN_PAIRS: dict[str, DomainPair] = {p.name: p for p in [
    _pair("font_digits", "mnist", "printed digits in 15 typefaces -> handwriting (as SynDigits -> MNIST)"),
    _pair("mnist", "sklearn_digits", "28 px handwriting -> 8x8 scans with 17 grey levels"),
    _pair("mnist", "opencv_digits", "the same MNIST digits cut to 20 px in another framing: resolution and framing only"),
    _pair("sklearn_digits", "mnist", "8x8 coarse scans -> 28 px handwriting"),
    _pair("mnist", "mnist+blur0.5", "the same digits out of focus", "mnist->mnist+blur"),
    _pair("mnist", "mnist+invert1", "dark digits on a light ground", "mnist->mnist+invert"),
    _pair("mnist", "mnist+colour1", "digits in random colours", "mnist->mnist+colour"),
    _pair("mnist", "mnist+background1", "digits blended with photo patches (MNIST-M)", "mnist->mnist+background"),
    _pair("mnist", "mnist+noise0.5", "digits under Gaussian noise", "mnist->mnist+noise"),
    _pair("mnist", "mnist+lowres0.7", "digits through a 9 px thumbnail", "mnist->mnist+lowres"),
    _pair("mnist", "mnist+thick1", "thicker strokes", "mnist->mnist+thick"),
    _pair("mnist", "mnist+rotate0.5", "digits turned by 45 degrees", "mnist->mnist+rotate"),
    _pair("mnist", "mnist+elastic1", "elastically distorted digits", "mnist->mnist+elastic"),
    _pair("tv_mnist", "usps", "MNIST -> USPS postal digits (full profile: torchvision download)"),
    _pair("svhn", "tv_mnist", "house-number photos -> handwriting (full profile: torchvision download)"),
]}


def _parse_side(spec: str) -> tuple[str, Shift | Compose | None]:
    base, _, shift = spec.partition("+")
    return base, (make_shift(shift) if shift else None)


def domain_pairs() -> pd.DataFrame:
    """The named source -> target pairs.

    Returns:
        One row per pair: name, source, target, description, and whether both sets are
        available right now (offline packages installed, or torchvision files in place).
    """
    table = list_datasets()
    avail = dict(zip(table["name"], table["available"]))
    rows = []
    for p in DOMAIN_PAIRS.values():
        bases = [p.source.partition("+")[0], p.target.partition("+")[0]]
        rows.append({"name": p.name, "source": p.source, "target": p.target, "description": p.description,
                     "available": all(avail.get(b, False) for b in bases)})
    return pd.DataFrame(rows)


def load_pair(name: str, *, profile: str | Profile | None = None, seed: int = 0,
              transform: Any = None) -> tuple[ImageDataset, ImageDataset, ImageDataset, ImageDataset]:
    """Load a source -> target pair as ``(source_train, source_test, target_train, target_test)``.

    Args:
        name: a name from :func:`domain_pairs`, or any ``"<set>[+shift]-><set>[+shift]"`` of
            registered image sets with the same classes (``"mnist->fashion_mnist"`` is refused).
        profile: the run profile (caps sizes in the quick profile).
        seed: the seed of size caps and of the shifts (train and test use different draws).
        transform: an ImageTransform or a model; all four sets are read through it.

    Returns:
        Four :class:`ImageDataset` objects; a shifted side's domain is labelled like
        ``"mnist+blur0.5"``.

    Raises:
        UnknownDatasetError: an unknown pair or data set name (with the closest one).
        DataError: source and target have different classes.
        MissingAssetError: a set is not installed (with the command).

    Example:
        >>> src_tr, src_te, tgt_tr, tgt_te = load_pair("font_digits->mnist", transform=model)  # doctest: +SKIP
    """
    if not isinstance(name, str):
        raise TypeError(f"The 'name' parameter of load_pair must be a str. Got {type(name).__name__} instead.")
    if name in DOMAIN_PAIRS:
        source, target = DOMAIN_PAIRS[name].source, DOMAIN_PAIRS[name].target
    elif "->" in name:
        source, _, target = (s.strip() for s in name.partition("->"))
    else:
        raise UnknownDatasetError(f"Unknown domain pair {name!r}.{did_you_mean(name, DOMAIN_PAIRS)} Write "
                                  "'<source>-><target>', or see tlw.shifts.domain_pairs().")
    known = set(list_datasets()["name"])
    sides = [_parse_side(spec) for spec in (source, target)]
    for base, _ in sides:
        if base not in known:
            close = did_you_mean(name, DOMAIN_PAIRS).replace("Did you mean", "Or the named pair")
            raise UnknownDatasetError(f"Unknown data set {base!r} in the pair {name!r}.{did_you_mean(base, known)}"
                                      f"{close} See tlw.shifts.domain_pairs() and tlw.list_datasets().")
    out: list[ImageDataset] = []
    for side, (base, shift) in enumerate(sides):
        for s, split in enumerate(("train", "test")):
            ds = load_dataset(base, split=split, profile=profile, seed=seed)
            if not isinstance(ds, ImageDataset):
                raise DataError(f"Domain pairs are made of image sets; {base!r} in {name!r} is a {ds.modality} set.")
            if shift is not None:
                ds = shift_dataset(ds, shift, seed=_chunk_seed(seed, 4 * side + s))
            out.append(ds)
    if out[0].classes != out[2].classes:
        raise DataError(f"The source and target of {name!r} have different classes ({out[0].classes[:5]}... vs "
                        f"{out[2].classes[:5]}...). A domain pair needs the same classes in the same order.")
    if transform is not None:
        out = [ds.with_transform(transform) for ds in out]
    return out[0], out[1], out[2], out[3]
