"""The kinds of domain shift: resolution, stroke thickness, inversion, colour, photo backgrounds,
noise, blur, rotation and elastic distortion.

Each is a frozen dataclass of :class:`~tlworkbench.data.shift_base.Shift` whose parameters fix
what strength 1 means; :mod:`tlworkbench.data.shifts` names them for :func:`make_shift`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import check_names
from ..errors import MissingAssetError
from .shift_base import Shift, to_uint8

__all__ = [
    "PHOTOS",
    "Resolution",
    "Thickness",
    "Invert",
    "Colour",
    "Background",
    "Noise",
    "Blur",
    "Rotation",
    "Elastic",
]

# Photos inside scikit-image (no download) that MNIST-M-style backgrounds are cut from; each is
# public domain or CC0 (see its docstring in skimage.data).
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry")


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
        return to_uint8(F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False))


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
        return to_uint8(y)


@dataclass(frozen=True)
class Invert(Shift):
    """Blend towards the photographic negative (dark digits on a light ground at strength 1)."""

    kind: ClassVar[str] = "invert"

    def _apply(self, x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        y = x.float()
        return to_uint8(y + self.strength * (255.0 - 2.0 * y))


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
        return to_uint8((1.0 - self.strength) * x3 + self.strength * painted)


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
        object.__setattr__(self, "photos", check_names(self.photos, "photos", "Background", PHOTOS))

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
        return to_uint8((1.0 - self.strength) * x3 + self.strength * (x3 - patches).abs())


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
        return to_uint8(x.float() + (self.strength * self.max_sigma) * z)


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
        return to_uint8(_gaussian_blur(x.float(), max(sigma, 1e-3)))


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
        return to_uint8(F.grid_sample(x.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False))


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
        return to_uint8(F.grid_sample(x.float(), grid + offset, mode="bilinear", padding_mode="zeros",
                                       align_corners=False))
