"""Turning label maps into pictures: colour maps, overlays, legends. Small composable functions."""

from .color import colorize, overlay, legend

__all__ = ["colorize", "overlay", "legend"]
