"""M2FP (Mask2Former for Parsing) in plain PyTorch, checkpoint-compatible with ModelScope's
``damo/cv_resnet101_image-multiple-human-parsing``. See ``docs/backend-m2fp.md``."""
