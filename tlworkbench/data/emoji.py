"""Colour emoji by Unicode subgroup: a real colour image set that installs offline.

The images are the glyphs of Google's Noto Color Emoji font (Debian ``fonts-noto-color-emoji``,
SIL Open Font Licence 1.1) for the emoji that Unicode's ``emoji-test.txt`` (Debian
``unicode-data``) files under a few subgroups: mammals, birds, bugs, fruit, vegetables and
ground transport. Each glyph is drawn in several styles (a background colour or gradient, a size,
a rotation, a position and a mirror image drawn from a seed), so that a class is a set of
drawings made by hand, each seen in a few photographs.

Train and test hold different emoji: an emoji's every style is on one side only (a quarter of
each subgroup's emoji, at least two, are test emoji), so the test asks whether a model
recognises a mammal it has never seen as a mammal, not a seen drawing on a new background.
:func:`write_emoji_folder` writes the set as PNG files in the ``train/<class>/`` and
``test/<class>/`` layout that :func:`~tlworkbench.data.load_image_folder` reads, the layout of
one's own data.

Without root, copy ``NotoColorEmoji.ttf`` and ``emoji-test.txt`` into ``TLW_DATA/emoji/``
(:func:`emoji_dir`): the two files are looked for there when Debian's are absent.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from .._validate import check_int
from ..config import Profile, data_home, get_profile
from ..errors import MissingAssetError
from .containers import ImageDataset

__all__ = ["EMOJI_CLASSES", "EMOJI_FONT", "EMOJI_TEST", "EMOJI_INSTALL", "EMOJI_SIZES", "EMOJI_STYLES",
           "emoji_dir", "emoji_files", "emoji_by_subgroup", "render_emoji", "emoji_images", "load_emoji",
           "write_emoji_folder", "has_emoji"]

EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
EMOJI_INSTALL = "sudo apt-get install fonts-noto-color-emoji unicode-data"
#: The classes: Unicode emoji subgroups.
EMOJI_CLASSES = ("animal-mammal", "animal-bird", "animal-bug", "food-fruit", "food-vegetable", "transport-ground")
#: Side of the rendered images, by profile (the full profile at EfficientNet's native 224 px).
EMOJI_SIZES = {"quick": 96, "full": 224}
#: Styles drawn per emoji, by split and profile.
EMOJI_STYLES = {("train", "quick"): 6, ("test", "quick"): 3, ("train", "full"): 12, ("test", "full"): 6}
_GLYPH_SIZE = 109  # the one size of the font's colour bitmaps
_TEST_SHARE = 0.25
_PALETTE = [(255, 255, 255), (240, 240, 240), (30, 30, 46), (250, 235, 215), (200, 230, 255), (220, 255, 220),
            (255, 220, 230), (60, 90, 140), (120, 60, 60), (250, 250, 180), (90, 90, 90), (20, 110, 90)]


def emoji_dir() -> Path:
    """The folder a user without root fills: ``TLW_DATA/emoji`` (it also holds written folders)."""
    return data_home() / "emoji"


def emoji_files() -> tuple[Path | None, Path | None]:
    """``(font, emoji list)``: Debian's files, else those of :func:`emoji_dir`; ``None`` for one found nowhere."""
    found = []
    for system in (EMOJI_FONT, EMOJI_TEST):
        own = emoji_dir() / system.name
        found.append(next((p for p in (system, own) if p.is_file()), None))
    return found[0], found[1]


def has_emoji() -> bool:
    """Whether the font and Unicode's emoji list are installed (by Debian or in :func:`emoji_dir`)."""
    return None not in emoji_files()


def _require() -> tuple[Path, Path]:
    font, listing = emoji_files()
    if font is None or listing is None:
        missing = [p.name for p, f in ((EMOJI_FONT, font), (EMOJI_TEST, listing)) if f is None]
        raise MissingAssetError(
            f"The emoji set needs {' and '.join(missing)}, not installed here. Install with: {EMOJI_INSTALL}; "
            f"or, without root, copy {EMOJI_FONT.name} and {EMOJI_TEST.name} (from any machine that has them, "
            f"e.g. {EMOJI_FONT} and {EMOJI_TEST}) into {emoji_dir()}")
    return font, listing


@functools.cache
def emoji_by_subgroup() -> dict[str, list[tuple[str, str]]]:
    """Every fully-qualified emoji of ``emoji-test.txt`` as ``(characters, name)``, by subgroup.

    Raises:
        MissingAssetError: ``unicode-data`` (or the font) is not installed.
    """
    _, listing = _require()
    out: dict[str, list[tuple[str, str]]] = {}
    subgroup = ""
    for line in listing.read_text(encoding="utf-8").splitlines():
        if line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif "; fully-qualified" in line:
            codes, _, rest = line.partition(";")
            chars = "".join(chr(int(c, 16)) for c in codes.split())
            name = rest.split("#", 1)[1].split(None, 2)[-1] if "#" in rest else codes.strip()
            out.setdefault(subgroup, []).append((chars, name))
    return out


@functools.cache
def _font() -> object:
    from PIL import ImageFont

    font, _ = _require()
    return ImageFont.truetype(str(font), _GLYPH_SIZE)


@functools.cache
def _glyph(chars: str) -> object:
    """The glyph drawn alone on a transparent canvas, cropped to its pixels."""
    from PIL import Image, ImageDraw

    canvas = Image.new("RGBA", (2 * _GLYPH_SIZE, 2 * _GLYPH_SIZE), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((_GLYPH_SIZE, _GLYPH_SIZE), chars, font=_font(), embedded_color=True, anchor="mm")
    box = canvas.getbbox()
    return canvas.crop(box) if box else None


def render_emoji(chars: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """One style of an emoji: ``(size, size, 3)`` uint8, drawn from ``rng``.

    The background is one colour or a gradient between two; the glyph takes 50-90% of the side,
    turns by up to 25 degrees, is mirrored half of the time, and sits anywhere it fits.
    """
    from PIL import Image

    glyph = _glyph(chars)
    a, b = (np.array(_PALETTE[i], dtype=np.float32) for i in rng.choice(len(_PALETTE), 2, replace=False))
    if rng.random() < 0.5:
        b = a
    ramp = np.linspace(0, 1, size, dtype=np.float32)[:, None, None]
    back = (a * (1 - ramp) + b * ramp).repeat(size, axis=1)
    image = Image.fromarray(back.round().astype(np.uint8)).convert("RGBA")
    if glyph is not None:
        g = glyph.rotate(float(rng.uniform(-25, 25)), resample=Image.Resampling.BICUBIC, expand=True)
        if rng.random() < 0.5:
            g = g.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        side = max(2, int(size * rng.uniform(0.5, 0.9)))
        scale = side / max(g.size)
        g = g.resize((max(1, round(g.size[0] * scale)), max(1, round(g.size[1] * scale))), Image.Resampling.LANCZOS)
        x = int(rng.integers(0, size - g.size[0] + 1))
        y = int(rng.integers(0, size - g.size[1] + 1))
        image.alpha_composite(g, (x, y))
    return np.asarray(image.convert("RGB"))


def _members(seed: int) -> dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    """Per class, ``(train emoji, test emoji)``: a seeded quarter (at least 2) of each subgroup is test."""
    groups = emoji_by_subgroup()
    out = {}
    for k, cls in enumerate(EMOJI_CLASSES):
        members = [m for m in groups.get(cls, []) if _glyph(m[0]) is not None]
        order = np.random.default_rng(10_000 + 97 * seed + k).permutation(len(members))
        n_test = max(2, int(round(_TEST_SHARE * len(members))))
        out[cls] = ([members[i] for i in sorted(order[n_test:])], [members[i] for i in sorted(order[:n_test])])
    return out


def emoji_images(split: str, *, size: int, styles: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The rendered images of one split: ``(x (N, size, size, 3) uint8, y (N,), names)``.

    Args:
        split: ``"train"`` or ``"test"`` (different emoji).
        size: the side of the images.
        styles: drawings per emoji.
        seed: decides which emoji are test emoji and the styles.
    """
    size = check_int(size, "size", "emoji_images", minimum=16)
    styles = check_int(styles, "styles", "emoji_images", minimum=1)
    images, labels, names = [], [], []
    side = 0 if split == "train" else 1
    for k, cls in enumerate(EMOJI_CLASSES):
        for j, (chars, name) in enumerate(_members(seed)[cls][side]):
            rng = np.random.default_rng([seed, side, k, j])
            for s in range(styles):
                images.append(render_emoji(chars, size, rng))
                labels.append(k)
                names.append(f"{name.replace(' ', '_').replace(':', '')}_{s}")
    return np.stack(images), np.asarray(labels), names


def load_emoji(split: str, profile: Profile, seed: int) -> ImageDataset:
    """The registry's loader: ``emoji`` at the profile's size and number of styles."""
    x, y, _ = emoji_images(split, size=EMOJI_SIZES[profile.name], styles=EMOJI_STYLES[(split, profile.name)],
                           seed=seed)
    images = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    return ImageDataset(images, y, list(EMOJI_CLASSES), name=f"emoji:{split}", domain="emoji")


def write_emoji_folder(root: str | Path | None = None, *, profile: str | Profile | None = None,
                       seed: int = 0) -> Path:
    """Write the emoji set as PNG files, ``root/{train,test}/<class>/<emoji>_<style>.png``.

    The folder has the layout of one's own data (:func:`~tlworkbench.data.load_image_folder`
    reads its ``train`` and ``test`` sides). A folder written before is reused.

    Args:
        root: where to write (default: ``TLW_DATA/emoji/<profile>-<seed>``, beside the files of :func:`emoji_dir`).
        profile: decides the size and the styles per emoji (:data:`EMOJI_SIZES`, :data:`EMOJI_STYLES`).
        seed: decides the test emoji and the styles.

    Returns:
        The folder.

    Raises:
        MissingAssetError: the font or Unicode's emoji list is not installed.
    """
    from PIL import Image

    prof = get_profile(profile)
    seed = check_int(seed, "seed", "write_emoji_folder")
    root = Path(root) if root is not None else data_home() / "emoji" / f"{prof.name}-{seed}"
    done = root / ".complete"
    if done.exists():
        return root
    for split in ("train", "test"):
        x, y, names = emoji_images(split, size=EMOJI_SIZES[prof.name], styles=EMOJI_STYLES[(split, prof.name)],
                                   seed=seed)
        for image, label, name in zip(x, y, names):
            folder = root / split / EMOJI_CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{name}.png")
    done.write_text("written by tlworkbench.data.emoji.write_emoji_folder\n")
    return root
