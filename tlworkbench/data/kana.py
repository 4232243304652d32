"""Kana glyphs rendered from the Japanese fonts that Debian packages: classes no source model saw.

The 46 basic hiragana and the 46 basic katakana, each drawn in up to twelve typefaces (IPA and
IPAex Gothic and Mincho, VL Gothic, Takao Gothic and six weights and widths of M+), white on
black at 28 px and centred by their ink, as MNIST digits are. No model of the workbench is
trained on a Japanese script, so the set is a new alphabet for few-shot learning: each image
records the font it was drawn in (:func:`render_kana` returns it), so that an episode can take its
support images from some fonts and its queries from others.

The registered set ``kana`` splits by script: ``train`` holds the hiragana (the classes on which
choices are made) and ``test`` the katakana (the classes on which a few-shot method is scored);
the two splits share no class. Class names are the Hepburn romanisations, lower case for hiragana
("ka") and upper case for katakana ("KA"), as linguists write them.

Without root, any Japanese font files copied into ``TLW_DATA/fonts`` (:func:`font_folder`) serve
instead of, or beside, Debian's: :func:`kana_fonts` keeps each one that has every kana glyph.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._validate import check_choice, check_int, check_sequence
from ..config import Profile, data_home
from ..errors import MissingAssetError
from .containers import ImageDataset
from .offline import fit_glyph

__all__ = ["HIRAGANA", "KATAKANA", "ROMAJI", "KANA_FONTS", "KANA_INSTALL", "kana_fonts", "render_kana",
           "load_kana", "RENDERS_PER_FONT", "kana_card", "font_folder", "MAX_FONTS", "FONT_SUFFIXES"]

HIRAGANA = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
KATAKANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
ROMAJI = ("a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no ha hi fu he ho ma mi mu me mo "
          "ya yu yo ra ri ru re ro wa wo n").split()

#: The typefaces, as (name, file, Debian folder): gothic and mincho, thin to black.
KANA_FONTS = (
    ("IPAGothic", "ipag.ttf", "/usr/share/fonts/opentype/ipafont-gothic"),
    ("IPAMincho", "ipam.ttf", "/usr/share/fonts/opentype/ipafont-mincho"),
    ("IPAexGothic", "ipaexg.ttf", "/usr/share/fonts/opentype/ipaexfont-gothic"),
    ("IPAexMincho", "ipaexm.ttf", "/usr/share/fonts/opentype/ipaexfont-mincho"),
    ("VL Gothic", "VL-Gothic-Regular.ttf", "/usr/share/fonts/truetype/vlgothic"),
    ("Takao Gothic", "TakaoGothic.ttf", "/usr/share/fonts/truetype/takao-gothic"),
    ("M+ 1 Thin", "Mplus1-Thin.otf", "/usr/share/fonts/opentype/mplus"),
    ("M+ 1 Regular", "Mplus1-Regular.otf", "/usr/share/fonts/opentype/mplus"),
    ("M+ 1 Black", "Mplus1-Black.otf", "/usr/share/fonts/opentype/mplus"),
    ("M+ 2 Light", "Mplus2-Light.otf", "/usr/share/fonts/opentype/mplus"),
    ("M+ 2 ExtraBold", "Mplus2-ExtraBold.otf", "/usr/share/fonts/opentype/mplus"),
    ("M+ 1 Code Medium", "Mplus1Code-Medium.otf", "/usr/share/fonts/opentype/mplus"),
)
KANA_INSTALL = ("sudo apt-get install fonts-ipafont-gothic fonts-ipafont-mincho fonts-ipaexfont-gothic "
                "fonts-ipaexfont-mincho fonts-vlgothic fonts-mplus fonts-takao-gothic")
#: Images per font and class: the quick profile draws each glyph twice per font, the full one five times.
RENDERS_PER_FONT = {"quick": 2, "full": 5}
_MIN_FONTS = 4  # an episode splits the fonts between support and query
#: The most fonts a render uses (Debian's twelve, or as many from the font folder).
MAX_FONTS = 12
#: The font files :func:`kana_fonts` reads from :func:`font_folder`.
FONT_SUFFIXES = (".ttf", ".otf", ".ttc")


def kana_fonts() -> list[tuple[str, Path]]:
    """The Japanese fonts found: those of :data:`KANA_FONTS` in Debian's folders, then every font
    file in :func:`font_folder` (any ``.ttf``, ``.otf`` or ``.ttc`` that has every kana glyph), at
    most :data:`MAX_FONTS`.

    A user without root copies font files into :func:`font_folder`; a font of :data:`KANA_FONTS`
    found in both places counts once, and a file without every kana glyph is passed over.

    Raises:
        MissingAssetError: fewer than four fonts with the kana are found (an episode needs fonts on
            both sides); the message gives the install command and the folder.
    """
    found: list[tuple[str, Path]] = []
    for name, file, folder in KANA_FONTS:
        path = Path(folder) / file
        if path.is_file() and _covers(path, HIRAGANA + KATAKANA):
            found.append((name, path))
    named = {file: name for name, file, _ in KANA_FONTS}
    taken = {p.name for _, p in found}
    folder = font_folder()
    extra = sorted(p for p in folder.glob("*") if p.suffix.lower() in FONT_SUFFIXES and p.is_file())
    for path in extra:
        if len(found) >= MAX_FONTS:
            break
        if path.name not in taken and _covers(path, HIRAGANA + KATAKANA):
            found.append((named.get(path.name, path.stem), path))
            taken.add(path.name)
    if len(found) < _MIN_FONTS:
        raise MissingAssetError(f"The Japanese fonts of the data set 'kana' are not installed ({len(found)} fonts "
                                f"with every kana glyph found, at least {_MIN_FONTS} needed). Install them with: "
                                f"{KANA_INSTALL}; or, without root, copy at least {_MIN_FONTS} Japanese font files "
                                f"(.ttf, .otf or .ttc, for example {', '.join(f for _, f, _ in KANA_FONTS[:4])}) "
                                f"into {folder}.")
    return found


def font_folder() -> Path:
    """``TLW_DATA/fonts``: where a user without root puts Japanese font files (not created here)."""
    return data_home() / "fonts"


def _covers(path: Path, chars: str) -> bool:
    """Whether the font at ``path`` has a glyph for every char (a font without one draws a box);
    ``False`` for a file that is not a readable font."""
    from fontTools.ttLib import TTFont, TTLibError  # comes with matplotlib

    try:
        cmap = TTFont(str(path), lazy=True, fontNumber=0).getBestCmap() or {}
    except (TTLibError, OSError, ValueError, KeyError, AssertionError):
        return False
    return all(ord(c) in cmap for c in chars)


def render_kana(chars: Sequence[str], *, per_font: int = 2, seed: int = 0, size: int = 28,
                fonts: Sequence[tuple[str, Path]] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                          list[str]]:
    """Render every char of ``chars`` ``per_font`` times in every font.

    Size, position and a small rotation are drawn from ``seed``; glyphs are white on black,
    scaled so that their ink fits 20 px, centred in a ``size`` square.

    Args:
        chars: the glyphs, one class each.
        per_font: renders of each glyph in each font.
        seed: the seed of the jitter.
        size: the image side in pixels.
        fonts: ``(name, path)`` pairs (default: :func:`kana_fonts`).

    Returns:
        ``(images uint8 (n, size, size), labels int64 (n,), font index int64 (n,), font names)``,
        ordered by class, then font, then render.

    Raises:
        InvalidParameterError: a bad ``per_font``, ``seed``, ``size`` or empty ``chars``.
        MissingAssetError: the fonts are not installed.

    Example:
        >>> x, y, f, names = render_kana("アイ", per_font=1)  # doctest: +SKIP
        >>> x.shape[1:], sorted(set(y.tolist()))  # doctest: +SKIP
        ((28, 28), [0, 1])
    """
    func = "render_kana"
    chars = check_sequence(list(chars), "chars", func)
    per_font = check_int(per_font, "per_font", func, minimum=1)
    seed = check_int(seed, "seed", func)
    size = check_int(size, "size", func, minimum=8)
    fonts = list(fonts) if fonts is not None else kana_fonts()
    from PIL import Image, ImageDraw, ImageFont

    rng = np.random.default_rng(seed)
    n = len(chars) * len(fonts) * per_font
    images = np.zeros((n, size, size), dtype=np.uint8)
    labels = np.repeat(np.arange(len(chars)), len(fonts) * per_font)
    font_idx = np.tile(np.repeat(np.arange(len(fonts)), per_font), len(chars))
    loaded: dict[tuple[int, int], Any] = {}
    big = 96
    for i, (lab, fi) in enumerate(zip(labels, font_idx)):
        pt = int(rng.integers(52, 64))
        font = loaded.setdefault((int(fi), pt), ImageFont.truetype(str(fonts[fi][1]), pt))
        canvas = Image.new("L", (big, big), 0)
        ImageDraw.Draw(canvas).text((big / 2, big / 2), chars[lab], fill=255, font=font, anchor="mm")
        canvas = canvas.rotate(float(rng.uniform(-8, 8)), resample=Image.BILINEAR)
        box = canvas.getbbox()
        if box is None:  # a font without the glyph: left black, which a test would catch
            continue
        images[i] = fit_glyph(canvas.crop(box), size, rng, jitter=1)
    return images, labels.astype(np.int64), font_idx.astype(np.int64), [name for name, _ in fonts]


def load_kana(split: str, profile: Profile, seed: int, *, with_fonts: bool = False) -> Any:
    """The ``kana`` set: hiragana for ``"train"``, katakana for ``"test"`` (disjoint classes).

    The loader of the ``kana`` card (``load(split, profile, seed)``); ``with_fonts=True`` also
    returns each image's font index and the font names.

    Returns:
        An :class:`~tlworkbench.data.ImageDataset` (domain ``"kana"``), or
        ``(dataset, font index, font names)``.

    Raises:
        MissingAssetError: the fonts are not installed.
    """
    check_choice(split, "split", "load_kana", ("train", "test"))
    chars, names = (HIRAGANA, ROMAJI) if split == "train" else (KATAKANA, [r.upper() for r in ROMAJI])
    per_font = RENDERS_PER_FONT.get(profile.name, RENDERS_PER_FONT["quick"])
    x, y, fonts, font_names = render_kana(chars, per_font=per_font, seed=2 * seed + (0 if split == "train" else 1))
    data = ImageDataset(torch.from_numpy(x).unsqueeze(1), y, names, name=f"kana:{split}", domain="kana")
    return (data, fonts, font_names) if with_fonts else data


def _available() -> bool:
    try:
        kana_fonts()
    except MissingAssetError:
        return False
    return True


def kana_card() -> Any:
    """The registry card of ``kana`` (read by :mod:`tlworkbench.data.catalogue`)."""
    from .registry import DatasetCard

    return DatasetCard(
        "kana", "image", load_kana, 46, "kana",
        "the 46 basic hiragana (train) and katakana (test) rendered from Debian's Japanese fonts "
        "(IPA, IPAex, VL Gothic, Takao, M+), 12 typefaces", "IPA Font Licence v1.0 (IPA, IPAex, Takao); "
        "M+ FONT LICENSE and BSD-3-Clause (VL Gothic); OFL-1.1 (M+)", KANA_INSTALL, _available,
        "46 classes x 12 fonts x 2 (quick) or 5 (full) per split, 28x28",
        "by script: hiragana train, katakana test (disjoint classes)")
