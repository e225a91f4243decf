"""SegFormer human parsers from Hugging Face (``transformers``), split like transformers itself:

* :mod:`.model`: load the checkpoint folder (image processor + ``SegformerForSemanticSegmentation``),
  run it on CPU, upsample the logits, argmax.
* :mod:`.labels`: which label set the checkpoint predicts (from ``config.id2label``) and how it maps to CIHP.
* :mod:`.postprocess`: persons as connected components, left/right sides, no ignored pixels.
* :mod:`.backend`: :class:`SegformerBackend`, the registry entry ``"segformer"``.
"""

from .backend import SegformerBackend

__all__ = ["SegformerBackend"]
