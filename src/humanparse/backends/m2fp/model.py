"""The M2FP network (Yang et al. 2023, arXiv:2301.00394) and its checkpoint loader.

Module tree and ``state_dict`` keys match ModelScope's ``M2FP`` (``backbone.*``,
``sem_seg_head.pixel_decoder.*``, ``sem_seg_head.predictor.*``), so the published
``pytorch_model.pt`` (``{"model": state_dict}``) loads with ``strict=True``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from . import winograd
from .backbone import ConvNorm, ResNetBackbone
from .config import CHECKPOINT_FILE, M2FPConfig
from .pixel_decoder import PixelDecoder
from .transformer_decoder import MaskedTransformerDecoder


class M2FPHead(nn.Module):
    """Pixel decoder + transformer decoder (``sem_seg_head``)."""

    def __init__(self, cfg: M2FPConfig, channels: dict[str, int], strides: dict[str, int]) -> None:
        super().__init__()
        self.pixel_decoder = PixelDecoder(cfg.encoder, channels, strides)
        self.predictor = MaskedTransformerDecoder(cfg.decoder, cfg.encoder.conv_dim)

    def forward(self, features):
        mask_features, multi_scale = self.pixel_decoder(features)
        return self.predictor(multi_scale, mask_features)


class M2FP(nn.Module):
    """M2FP: normalised, padded image ``(B, 3, H, W)`` -> class and mask logits.

    ``forward`` returns ``(pred_logits (B, Q, num_classes + 1), pred_masks (B, Q, H/4, W/4))``
    (float32 logits; the last class is "no object"). ``H`` and ``W`` must be multiples of 32
    (see :func:`humanparse.backends.m2fp.preprocess.preprocess`).
    """

    def __init__(self, cfg: M2FPConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or M2FPConfig()
        self.backbone = ResNetBackbone(self.cfg.backbone)
        feats = {k: self.backbone.channels[k] for k in self.cfg.encoder.in_features}
        strides = {k: self.backbone.strides[k] for k in self.cfg.encoder.in_features}
        self.sem_seg_head = M2FPHead(self.cfg, feats, strides)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.cfg.size_divisibility
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"M2FP expects (B, 3, H, W), got {tuple(images.shape)}")
        if not torch.compiler.is_compiling() and (images.shape[2] % d or images.shape[3] % d):
            raise ValueError(f"input size {tuple(images.shape[2:])} must be a multiple of {d}; pad it first")
        if self._channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return self.sem_seg_head(self.backbone(images))

    _channels_last = False

    def optimize_for_inference(self, channels_last: bool = True, fuse: bool | None = None) -> "M2FP":
        """Fold frozen batch norms into convolutions, switch to eval mode (in place) and, by default,
        run the backbone in channels-last memory format (faster oneDNN convolutions on CPU).

        ``fuse`` (default: same as ``channels_last``): run backbone conv + residual add + ReLU and
        the pixel decoder's linear layers (+ ReLU) as single oneDNN calls, and the wide 3x3
        convolutions by Winograd F(4x4, 3x3) (:mod:`.fused_ops`, :mod:`.winograd`; CPU float32
        inference only; other cases fall back to plain ops). ONNX export passes ``False``.
        After this the ``state_dict`` no longer matches the checkpoint layout; call it after loading.
        """
        self.eval()
        fuse = channels_last if fuse is None else fuse
        self.backbone.fold_batchnorm(fuse=fuse)
        for m in self.sem_seg_head.pixel_decoder.modules():
            if hasattr(m, "fused"):  # deformable attention linears, FPN ConvNorms
                m.fused = fuse
        if channels_last:  # backbone, pixel-decoder convolutions (FPN, mask features) and their outputs
            self.backbone.to(memory_format=torch.channels_last)
            self.sem_seg_head.pixel_decoder.to(memory_format=torch.channels_last)
            self._channels_last = True
        if fuse:  # Winograd-domain kernels of the wide 3x3 convolutions, now rather than on the first call
            for m in self.modules():
                if isinstance(m, ConvNorm) and m.fused and winograd.eligible(m):
                    winograd.transformed_weight(m)
        return self


def num_parameters(model: nn.Module) -> int:
    """Number of learnable parameters (frozen-BN statistics excluded, as in the model card)."""
    return sum(p.numel() for p in model.parameters())


def load_checkpoint(path: str | Path, cfg: M2FPConfig | None = None) -> M2FP:
    """Build an :class:`M2FP` and load a ModelScope checkpoint with ``strict=True``.

    Args:
        path: checkpoint directory (``pytorch_model.pt`` + ``configuration.json``) or the ``.pt`` file.
        cfg: configuration; default: read from ``configuration.json`` beside the weights.
    Returns:
        the model in eval mode (not yet :meth:`M2FP.optimize_for_inference`).
    Raises:
        FileNotFoundError: no ``pytorch_model.pt``.
        ValueError: unreadable file, or keys/shapes that do not match the configuration
            (the message lists missing and unexpected keys).
    """
    path = Path(path)
    file = path / CHECKPOINT_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"no M2FP checkpoint at {file} (expected a directory with {CHECKPOINT_FILE})")
    if cfg is None:
        cfg = M2FPConfig.from_dir(file.parent)
    try:
        blob = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as e:
        raise ValueError(f"cannot read checkpoint {file}: {e}") from e
    state = blob.get("model", blob) if isinstance(blob, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f"{file}: expected a dict with a 'model' state_dict")
    model = M2FP(cfg)
    load_state_dict_strict(model, state, source=str(file))
    return model.eval()


IGNORED_KEYS = ("num_batches_tracked", "criterion.empty_weight", "pixel_mean", "pixel_std")
"""Checkpoint entries without effect at inference that detectron2/ModelScope checkpoints may carry
(BN step counters, the training loss's no-object weight, normalisation constants kept in config)."""


def load_state_dict_strict(model: M2FP, state: dict, source: str = "checkpoint") -> None:
    """``model.load_state_dict(state, strict=True)`` with a readable error.

    Entries ending in one of :data:`IGNORED_KEYS` are dropped first; everything else must match.
    Raises:
        ValueError: listing up to 10 missing / unexpected keys and shape mismatches.
    """
    own = model.state_dict()
    given = {k: v for k, v in state.items() if not k.endswith(IGNORED_KEYS)}
    missing = sorted(set(own) - set(given))
    unexpected = sorted(set(given) - set(own))
    shapes = sorted(f"{k}: checkpoint {tuple(given[k].shape)} vs model {tuple(own[k].shape)}"
                    for k in set(own) & set(given) if tuple(given[k].shape) != tuple(own[k].shape))
    if missing or unexpected or shapes:
        parts = []
        for name, items in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", shapes)):
            if items:
                more = f" (+{len(items) - 10} more)" if len(items) > 10 else ""
                parts.append(f"{len(items)} {name}: {', '.join(items[:10])}{more}")
        raise ValueError(f"{source} does not match the M2FP configuration: " + "; ".join(parts))
    model.load_state_dict(given, strict=True)
