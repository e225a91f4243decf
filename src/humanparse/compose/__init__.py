"""Compositing: soft alpha mattes, background removal / replacement, try-on masks, layered export.

Main entry points::

    from humanparse.compose import alpha_matte, composite, parse_background, selection_alpha
    alpha = alpha_matte(image, parsing.mask(), method="fast")     # (H, W) float32 in [0, 1]
    alpha = selection_alpha(image, parsing, keep="hair,face", person=1)   # opaque inside, soft outline
    out = composite(image, alpha, parse_background("#00ff00"))    # (H, W, 3) uint8

Modules: :mod:`.trimap`, :mod:`.matting`, :mod:`.composite`, :mod:`.select`, :mod:`.presets` (try-on
agnostic masks), :mod:`.layers` (per-part RGBA layers + manifest). See ``docs/compose.md``.
"""

from .composite import blurred_background, composite, cover, parse_background
from .matting import METHODS, alpha_matte, foreground_colors
from .select import selection_alpha, selection_mask
from .trimap import make_trimap

__all__ = ["alpha_matte", "composite", "parse_background", "foreground_colors", "make_trimap",
           "selection_alpha", "selection_mask", "blurred_background", "cover", "METHODS"]
