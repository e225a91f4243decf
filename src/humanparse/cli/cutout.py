"""``humanparse cutout PATH... -o DIR``: cut persons or parts out with soft alpha mattes; replace the
background; write try-on masks or per-part layers."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer

from .common import (BackendOpt, DetectThresholdOpt, MaxPersonsOpt, detect_option, ModelOpt, QuietOpt, WeightsOpt, backend_options, err_console,
                     input_files, key_error_message, open_backend, run_per_file)


def _targets(out: Path, stem: str, alpha_only: bool, preset: str | None, layers: bool) -> list[Path]:
    if preset:
        t = [out / f"{stem}_agnostic-{preset}_mask.png", out / f"{stem}_agnostic-{preset}.png"]
    elif alpha_only:
        t = [out / f"{stem}_alpha.png"]
    else:
        t = [out / f"{stem}_cutout.png"]
    if layers:
        t.append(out / f"{stem}_layers")
    return t


def cutout_command(
    paths: list[Path] = typer.Argument(..., help="Image files or folders (folders recurse)."),
    out: Path = typer.Option(Path("humanparse-out"), "--out", "-o", help="Output folder."),
    keep: str = typer.Option(None, "--keep", "-k", help="Parts to keep, e.g. hair,face or shoes (coarse names work)."),
    remove: str = typer.Option(None, "--remove", "-r", help="Parts to take away, e.g. upper-clothes."),
    person: str = typer.Option(None, "--person", "-p", help="Person id(s) to cut out, e.g. 2 or 1,3 (default: all)."),
    background: str = typer.Option("transparent", "--background", "--bg",
                                   help="transparent, blur, blur:SIGMA, #rrggbb, r,g,b, a colour name, or an image file."),
    matting: str = typer.Option("fast", "--matting",
                                help="Edges: off (hard mask); fast (closed-form matting of the edge band at "
                                     "40 k px, ~0.2 s); quality (the same at up to 0.5 MP, plus colour "
                                     "decontamination of the edge pixels; seconds)."),
    alpha_only: bool = typer.Option(False, "--alpha-only", help="Write only the alpha matte (grayscale PNG)."),
    preset: str = typer.Option(None, "--preset", help="Try-on agnostic mask instead of a cut-out: upper, lower or full."),
    layers: bool = typer.Option(False, "--layers", help="Also write one RGBA PNG per part per person + manifest.json."),
    allow_empty: bool = typer.Option(False, "--allow-empty",
                                     help="A photo without the chosen parts or persons still counts as done (its "
                                          "cut-out is fully transparent); without it that is a warning and exit 1."),
    backend: str = BackendOpt,
    max_persons: int = MaxPersonsOpt,
    detect_threshold: float = DetectThresholdOpt,
    weights: Path = WeightsOpt,
    model: str = ModelOpt,
    quiet: bool = QuietOpt,
) -> None:
    """Cut persons (or chosen parts) out of images with soft, hair-aware edges; optionally put them on a
    new background, write try-on masks (--preset) or per-part layers (--layers)."""
    import numpy as np
    from ..compose import METHODS, composite, foreground_colors, parse_background
    from ..compose.layers import export_layers
    from ..compose.presets import PRESETS, agnostic_image, agnostic_mask
    from ..compose.select import person_ids, selection_alpha, selection_mask
    from ..io.atomic import atomic_paths, replace_dir, staging_dir
    from ..io.image import load_image, save_png
    from ..labels import get_label_set, mapping_lut, resolve_parts

    if matting not in METHODS:
        raise typer.BadParameter(f"choose from {', '.join(METHODS)}", param_hint="--matting")
    if preset is not None and preset not in PRESETS:
        raise typer.BadParameter(f"choose from {', '.join(PRESETS)}", param_hint="--preset")
    if preset is not None and alpha_only:
        raise typer.BadParameter("--preset writes a mask already; drop --alpha-only", param_hint="--alpha-only")
    if preset is not None and not layers and (keep is not None or remove is not None):
        raise typer.BadParameter(f"--preset {preset} masks the garments of its preset and takes no part "
                                 "choice; drop --keep/--remove (they apply to --layers)", param_hint="--preset")
    try:
        bg = parse_background(background)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--background") from None
    try:
        persons = person_ids(person)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--person") from None
    files = input_files(paths, out)
    model_ = open_backend(backend, quiet=quiet, **backend_options(max_persons, weights, model,
                                                                  **detect_option(backend, detect_threshold)))
    chosen = {}
    for opt, value in (("--keep", keep), ("--remove", remove)):
        if value is not None:
            try:
                chosen[opt] = set(resolve_parts(model_.label_set, value))
            except KeyError as e:
                raise typer.BadParameter(key_error_message(e), param_hint=opt) from None
    everything = set(range(1, len(get_label_set(model_.label_set))))
    if "--remove" in chosen and not chosen.get("--keep", everything) - chosen["--remove"] - {0}:
        raise typer.BadParameter(f"--remove {remove} takes away every part "
                                 f"{'of --keep ' + keep if keep else 'of the person'}: nothing would be left",
                                 param_hint="--keep/--remove")
    if preset is not None:
        try:
            mapping_lut(model_.label_set, "cihp")
        except ValueError:
            raise typer.BadParameter(f"backend {backend} gives label set {model_.label_set}, which has no "
                                     "garment classes; use a CIHP/LIP/ATR backend", param_hint="--preset") from None

    written = 0
    empty: list[Path] = []

    def work(f: Path, stem: str, targets: list[Path]) -> None:
        nonlocal written
        image = load_image(f)
        parsing = model_.predict(image)
        if preset is None and not selection_mask(parsing, keep, remove, persons).any():
            empty.append(f)
            err_console.print(f"[yellow]warning[/] {_nothing_selected(keep, remove, persons, len(parsing))} in {f}")
        pictures = []                       # arrays, written (PNG) only once all are computed
        if preset is not None:
            mask = agnostic_mask(parsing, preset, persons)
            pictures += [mask.astype(np.uint8) * 255, agnostic_image(image, mask)]
        alpha = fg = None
        if preset is None or layers:
            alpha = selection_alpha(image, parsing, keep, remove, persons, matting)
        if preset is None:
            if alpha_only:
                pictures.append((alpha * 255.0 + 0.5).astype(np.uint8))
            else:
                fg = foreground_colors(image, alpha) if matting == "quality" else None
                pictures.append(composite(image, alpha, bg, foreground=fg))
        # the layer folder is built aside, then swapped in (no staging folder without --layers)
        with staging_dir(targets[-1].parent) if layers else nullcontext() as stage:
            if layers:
                export_layers(image, parsing, stage / "layers", alpha=alpha, person=persons, source=str(f))
            del image, parsing, alpha, fg       # only the pictures are left to write (24 MP: ~300 MB less at the peak)
            with atomic_paths(*targets[:len(pictures)]) as tmps:    # each file appears complete or not at all
                for picture, tmp in zip(pictures, tmps):
                    save_png(tmp, picture)          # OpenCV's fast PNG setting (24 MP: seconds less)
            if layers:
                replace_dir(stage / "layers", targets[-1])
        written += 1

    failed = run_per_file(files, paths, "cutting out",
                          lambda stem: _targets(out, stem, alpha_only, preset, layers), work, quiet)
    if not quiet:
        blank = f", {len(empty)} with nothing selected" if empty else ""
        err_console.print(f"{written} of {len(files)} image(s) cut out{blank}, {len(failed)} failed; outputs in {out}")
    if failed or (empty and not allow_empty):
        raise typer.Exit(1)


def _nothing_selected(keep: str | None, remove: str | None, persons: list[int] | None, found: int) -> str:
    """The warning for a photo whose selection is empty (its cut-out would be fully transparent)."""
    if found == 0:
        return "nobody found"
    who = "" if persons is None else f" of person {','.join(map(str, persons))}"
    if keep is not None:
        return f"no pixels of {keep!r}{who}" + (f" left after --remove {remove!r}" if remove else "")
    return f"nothing{who} left after --remove {remove!r}"
