"""M2FP network configuration: dataclasses and the ModelScope ``configuration.json`` reader.

Defaults are those of soeaver/M2FP ``configs/cihp/m2fp_R101_bs16_265k.yaml`` (the configuration of
ModelScope's ``damo/cv_resnet101_image-multiple-human-parsing``): ResNet-101 with the DeepLab stem
(three 3x3 convs, 128 channels), a 6-layer multi-scale deformable-attention pixel decoder on
res3..res5, a 9-layer masked-attention transformer decoder with 100 queries and 21 classes
(20 CIHP classes + "human"). The published checkpoint directory holds ``pytorch_model.pt``
(``{"model": state_dict}``) and ``configuration.json`` (whose ``"model"`` section has the keyword
arguments of ModelScope's ``M2FP`` class: ``backbone``, ``encoder``, ``decoder``, ...).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

CHECKPOINT_FILE = "pytorch_model.pt"
CONFIG_FILE = "configuration.json"

CIHP_CLASSES = (
    "background", "hat", "hair", "glove", "sunglasses", "upper-clothes", "dress", "coat", "socks",
    "pants", "torso-skin", "scarf", "skirt", "face", "left-arm", "right-arm", "left-leg",
    "right-leg", "left-shoe", "right-shoe", "human",
)
"""Class order of the M2FP CIHP head: the 20 CIHP classes (index = label id) then ``human`` (20)."""

_NORMS = ("BN", "FrozenBN", "SyncBN", "nnSyncBN")


@dataclass(frozen=True)
class BackboneConfig:
    """ResNet with the DeepLab stem (ModelScope ``build_resnet_deeplab_backbone`` arguments)."""

    depth: int = 101
    stem_out_channels: int = 128
    res2_out_channels: int = 256
    num_groups: int = 1
    width_per_group: int = 64
    stride_in_1x1: bool = False
    res4_dilation: int = 1
    res5_dilation: int = 1
    res5_multi_grid: tuple[int, ...] = (1, 1, 1)
    out_features: tuple[str, ...] = ("res2", "res3", "res4", "res5")
    norm: str = "BN"


@dataclass(frozen=True)
class PixelDecoderConfig:
    """Multi-scale deformable-attention pixel decoder (ModelScope ``encoder`` section)."""

    in_features: tuple[str, ...] = ("res2", "res3", "res4", "res5")
    transformer_in_features: tuple[str, ...] = ("res3", "res4", "res5")
    conv_dim: int = 256
    mask_dim: int = 256
    transformer_nheads: int = 8
    transformer_dim_feedforward: int = 1024
    transformer_enc_layers: int = 6
    transformer_dropout: float = 0.0
    common_stride: int = 4
    n_points: int = 4


@dataclass(frozen=True)
class DecoderConfig:
    """Masked-attention transformer decoder (ModelScope ``decoder`` section)."""

    num_classes: int = 21
    hidden_dim: int = 256
    num_queries: int = 100
    nheads: int = 8
    dim_feedforward: int = 2048
    dec_layers: int = 9
    pre_norm: bool = False
    mask_dim: int = 256
    enforce_input_project: bool = False


@dataclass(frozen=True)
class M2FPConfig:
    """Everything needed to build the network and run its pre/post-processing.

    Attributes:
        num_parsing: number of part classes including background (CIHP: 20); class
            ``num_parsing`` of the head is "human".
        parsing_ins_score_thr: minimum part-instance score pasted into the label map. ModelScope's
            default (0.5) applies when ``configuration.json`` does not set it; M2FP's own yaml used
            0.3 for its CIHP evaluation.
        human_score_thr: minimum human-instance score (ModelScope: 0.1).
        test_topk_per_image: (query, class) pairs kept by the instance post-process (100).
        min_size, max_size: test resize of the ModelScope pipeline (shorter side 640, longer <= 1333).
        pixel_mean, pixel_std: RGB normalisation in 0..255 units (ImageNet statistics).
        size_divisibility: input padded to a multiple of this (32).
    """

    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    encoder: PixelDecoderConfig = field(default_factory=PixelDecoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    classes: tuple[str, ...] = CIHP_CLASSES
    num_parsing: int = 20
    parsing_ins_score_thr: float = 0.5
    human_score_thr: float = 0.1
    test_topk_per_image: int = 100
    min_size: int = 640
    max_size: int = 1333
    pixel_mean: tuple[float, float, float] = (123.675, 116.28, 103.53)
    pixel_std: tuple[float, float, float] = (58.395, 57.12, 57.375)
    size_divisibility: int = 32

    def __post_init__(self) -> None:
        if self.backbone.norm not in _NORMS:
            raise ValueError(f"backbone norm {self.backbone.norm!r} not supported; expected one of {_NORMS}")
        if self.backbone.depth not in (26, 50, 101, 152):  # 26: small test networks only
            raise ValueError(f"backbone depth must be 50, 101 or 152, got {self.backbone.depth}")
        if self.decoder.num_classes != self.num_parsing + 1:
            raise ValueError(f"decoder.num_classes ({self.decoder.num_classes}) must be num_parsing + 1 "
                             f"({self.num_parsing + 1}): parts, background and 'human'")
        if self.encoder.conv_dim % 32 or self.decoder.hidden_dim % self.decoder.nheads:
            raise ValueError("conv_dim must be a multiple of 32 (GroupNorm) and hidden_dim of nheads")

    def reduced(self, **changes) -> "M2FPConfig":
        """A copy with nested fields changed, e.g. ``reduced(decoder={"dec_layers": 2})``."""
        kw = {}
        for k, v in changes.items():
            if k in ("backbone", "encoder", "decoder") and isinstance(v, dict):
                kw[k] = replace(getattr(self, k), **v)
            else:
                kw[k] = v
        return replace(self, **kw)

    # ---------------------------------------------------------------- ModelScope format
    def to_modelscope(self) -> dict:
        """The ``configuration.json`` content ModelScope's pipeline reads (model section + task)."""
        enc = asdict(self.encoder)
        enc.pop("n_points")  # fixed to 4 in ModelScope
        model = {
            "type": "m2fp",
            "backbone": _lists(asdict(self.backbone)),
            "encoder": _lists(enc),
            "decoder": asdict(self.decoder),
            "classes": list(self.classes),
            "num_parsing": self.num_parsing,
            "single_human": False,
            "parsing_ins_score_thr": self.parsing_ins_score_thr,
            "parsing_on": True,
            "semantic_on": False,
        }
        return {"framework": "pytorch", "task": "image-segmentation",
                "pipeline": {"type": "image-human-parsing"}, "model": model}

    @classmethod
    def from_modelscope(cls, cfg: dict) -> "M2FPConfig":
        """Read a parsed ``configuration.json`` (the whole file, or just its ``"model"`` section).

        Unknown keys are ignored (the published file carries pipeline/training fields too).
        Raises:
            ValueError: a single-human checkpoint (not supported), or invalid values.
        """
        model = cfg.get("model", cfg)
        if not isinstance(model, dict):
            raise ValueError("configuration.json: 'model' must be an object")
        if model.get("single_human", False):
            raise ValueError("single-human M2FP checkpoints (LIP) are not supported; use the multi-human CIHP one")
        kw = {}
        for key, sub in (("backbone", BackboneConfig), ("encoder", PixelDecoderConfig), ("decoder", DecoderConfig)):
            if key in model:
                kw[key] = _sub(sub, model[key], key)
        for key in ("num_parsing", "parsing_ins_score_thr", "test_topk_per_image"):
            if key in model:
                kw[key] = model[key]
        if "classes" in model:
            kw["classes"] = tuple(model["classes"])
        return cls(**kw)

    @classmethod
    def from_dir(cls, path: str | Path) -> "M2FPConfig":
        """Read ``configuration.json`` from a checkpoint directory (defaults when absent)."""
        f = Path(path) / CONFIG_FILE
        if not f.is_file():
            return cls()
        try:
            data = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"cannot read {f}: {e}") from e
        return cls.from_modelscope(data)


def _lists(d: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _sub(kind, values: dict, section: str):
    if not isinstance(values, dict):
        raise ValueError(f"configuration.json: model.{section} must be an object")
    names = {f.name for f in fields(kind)}
    kw = {}
    for k, v in values.items():
        if k in names:
            kw[k] = tuple(v) if isinstance(v, list) else v
    return kind(**kw)
