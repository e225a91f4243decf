"""Reports of an evaluation: ``metrics.json``, ``report.md``, ``iou.png``, ``confusion.png`` and, with
fairness, ``fairness.json`` / ``fairness.md``."""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
from pathlib import Path

import numpy as np

from . import metrics
from .compare import skin_class_ids
from .fairness import group_report
from .instances import average_precision
from .runner import EvalResult


def run_context() -> dict:
    """Date (UTC), humanparse version and git commit of the source tree (read-only git queries;
    ``git_uncommitted_changes`` also counts untracked files)."""
    from .. import __version__

    ctx = {"date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "humanparse_version": __version__, "git_commit": None, "git_uncommitted_changes": None}
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}
    try:
        ctx["git_commit"] = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                           text=True, timeout=10, env=env, check=True).stdout.strip() or None
        st = subprocess.run(["git", "-C", str(root), "status", "--porcelain"],
                            capture_output=True, text=True, timeout=20, env=env, check=True).stdout
        ctx["git_uncommitted_changes"] = bool(st.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return ctx


def metrics_dict(result: EvalResult, dataset: dict | None = None) -> dict:
    """Everything of ``metrics.json``: context, comparison, semantic metrics, APr, timing, failures."""
    comp = result.comparison
    names = list(comp.label_set.classes)
    out = {"context": run_context(), "dataset": dataset or {}, "backend": result.backend,
           "comparison": comp.to_dict(), "images": result.images, "failures": [list(f) for f in result.failures],
           **metrics.summarize(result.matrix, names)}
    skin = skin_class_ids(comp.label_set)
    out["skin_iou"] = _f(metrics.group_iou(result.matrix, skin)) if skin else None
    if result.human:
        h = average_precision(result.human)
        p = average_precision(result.part, class_names=names)
        out["instances"] = {
            "images": len(result.human),
            "human": {"apr_50": h["apr_50"], "apr_vol": h["apr_vol"], "map": h["map"], "thresholds": h["thresholds"],
                      "gt": h["per_class"][0]["gt"] if h["per_class"] else 0,
                      "pred": h["per_class"][0]["pred"] if h["per_class"] else 0},
            "part": {"apr_50": p["apr_50"], "apr_vol": p["apr_vol"], "map": p["map"], "per_class": p["per_class"]},
            "notes": "human-instance APr (persons) and part-instance APr (person x part); duplicates are false positives",
        }
    worst = sorted((r for r in result.per_image if np.isfinite(r[1])), key=lambda r: r[1])[:10]
    out["worst_images"] = [{"id": i, "miou": _f(mi), "pixel_accuracy": _f(pa), "persons_predicted": n}
                           for i, mi, pa, n in worst]
    secs = np.asarray(result.seconds, float)
    secs = secs[np.isfinite(secs)]
    out["timing"] = {"seconds_per_image_mean": _f(secs.mean()) if secs.size else None,
                     "seconds_per_image_median": _f(np.median(secs)) if secs.size else None,
                     "predictions_from_cache": result.cached}
    return out


def fairness_dict(result: EvalResult, n_boot: int = 1000, seed: int = 0, min_units: int = 5) -> dict:
    """Everything of ``fairness.json`` (see :func:`humanparse.eval.fairness.group_report`) plus per-unit ITA."""
    if not result.units:
        raise ValueError("no fairness units; run evaluate(..., fairness=True)")
    skin = skin_class_ids(result.comparison.label_set)
    rep = group_report(result.units, skin, n_boot=n_boot, seed=seed, min_units=min_units)
    rep["context"] = run_context()
    rep["comparison"] = result.comparison.to_dict()
    rep["skin_classes"] = [result.comparison.label_set.classes[i] for i in skin]
    rep["units"] = [{"id": u.id, "ita": _f(u.ita), "group": u.group, "skin_pixels": u.skin_pixels,
                     "scene_lightness": _f(u.scene_lightness)} for u in result.units]
    return rep


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def _ci(ci) -> str:
    return "–" if ci is None or ci[0] is None else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def metrics_markdown(m: dict) -> str:
    """``report.md``: overall table, per-class table, APr, context. Values in percent."""
    lines = [f"# Evaluation: {m['backend'].get('name', '?')} on {m['dataset'].get('name', '?')}", "",
             f"- {m['images']} images; comparison: {m['comparison']['description']}",
             f"- date {m['context']['date_utc']}, humanparse {m['context']['humanparse_version']}, "
             f"commit {m['context']['git_commit'] or 'unknown'}"
             + (" (with uncommitted changes)" if m["context"].get("git_uncommitted_changes") else ""),
             "", "| metric | value (%) |", "|---|---|"]
    for key, label in (("pixel_accuracy", "pixel accuracy"), ("mean_class_accuracy", "mean class accuracy"),
                       ("miou", f"mIoU ({m['classes_in_gt']} classes in GT)"), ("person_iou", "person IoU"),
                       ("background_iou", "background IoU"), ("skin_iou", "skin IoU"),
                       ("unmapped_prediction_fraction", "predictions with no counterpart")):
        lines.append(f"| {label} | {_pct(m.get(key))} |")
    inst = m.get("instances")
    if inst:
        lines.append(f"| APr@0.5, persons ({inst['images']} images) | {_pct(inst['human']['apr_50'])} |")
        lines.append(f"| APr_vol, persons | {_pct(inst['human']['apr_vol'])} |")
        lines.append(f"| APr@0.5, parts | {_pct(inst['part']['apr_50'])} |")
        lines.append(f"| APr_vol, parts | {_pct(inst['part']['apr_vol'])} |")
    t = m["timing"]
    if t["seconds_per_image_mean"] is not None:
        lines.append(f"| inference s/image (mean) | {t['seconds_per_image_mean']:.3f} s |")
    lines += ["", "| class | IoU (%) | accuracy (%) | GT pixels | predicted pixels |", "|---|---|---|---|---|"]
    for c in m["per_class"]:
        iou = "absent from GT" if c["gt_pixels"] == 0 else _pct(c["iou"])
        lines.append(f"| {c['name']} | {iou} | {_pct(c['accuracy'])} | {c['gt_pixels']} | {c['pred_pixels']} |")
    if m.get("worst_images"):
        lines += ["", "Lowest per-image mIoU (to inspect): " + ", ".join(
            f"{w['id']} ({_pct(w['miou'])})" for w in m["worst_images"][:5]) + "."]
    if m["failures"]:
        lines += ["", f"{len(m['failures'])} image(s) failed:", ""]
        lines += [f"- {i}: {msg}" for i, msg in m["failures"][:20]]
    return "\n".join(lines) + "\n"


def fairness_markdown(f: dict) -> str:
    """``fairness.md``: per-ITA-group table with CIs, worst group, gaps, exposure check. Values in percent."""
    s = f["settings"]

    def num(x, fmt="{:.1f}"):
        return "–" if x is None else fmt.format(x)

    lines = ["# Accuracy per skin-tone group (ITA)", "",
             f"Comparison: {f['comparison']['description']}; skin IoU over: {', '.join(f['skin_classes'])}.",
             f"{int(s['level'] * 100)}% CIs: percentile bootstrap, {s['n_boot']} resamples of persons within "
             f"each group, seed {s['seed']}. Groups with fewer than {s['min_units']} persons: 'too few' (no CI).",
             "", "| ITA group | n | mIoU (%) | 95% CI | skin IoU (%) | 95% CI | median ITA (°) | median background L* |",
             "|---|---|---|---|---|---|---|---|"]
    for g in f["groups"]:
        tail = f"{num(g['ita_median'])} | {num(g.get('scene_lightness_median'))} |"
        if g["status"] in ("too few", "none"):
            note = "too few" if g["n"] else "none"
            lines.append(f"| {g['group']} | {g['n']} | {_pct(g['miou'])} ({note}) | – | {_pct(g['skin_iou'])} ({note}) "
                         f"| – | {tail}")
        else:
            lines.append(f"| {g['group']} | {g['n']} | {_pct(g['miou'])} | {_ci(g['miou_ci'])} | {_pct(g['skin_iou'])} "
                         f"| {_ci(g['skin_iou_ci'])} | {tail}")
    o = f["overall"]
    lines.append(f"| all | {o['n']} | {_pct(o['miou'])} | {_ci(o['miou_ci'])} | {_pct(o['skin_iou'])} "
                 f"| {_ci(o['skin_iou_ci'])} | | |")
    lines.append("")
    lines.append(f"Worst group by mIoU (groups with >= {s['min_units']} persons): {f['worst_group'] or '–'}.")
    for key, label in (("miou", "mIoU"), ("skin_iou", "skin IoU")):
        gap = f["gap"].get(key)
        if gap:
            lines.append(f"Largest {label} gap: {gap['best']} − {gap['worst']} = {100 * gap['gap']:.1f} points, "
                         f"95% CI {_ci(gap['ci'])}.")
        else:
            lines.append(f"Largest {label} gap: – (fewer than two groups with enough persons).")
    rho = f.get("ita_vs_scene_lightness_spearman")
    lines.append(f"Spearman correlation of a person's ITA with the median L* of the photo's background: "
                 f"{num(rho, '{:.2f}')} (high values mean ITA groups partly sort photos by exposure, not skin).")
    return "\n".join(lines) + "\n"


def plot_iou(m: dict, path: Path | str) -> None:
    """Horizontal bar chart of per-class IoU (classes present in the ground truth), with the mIoU line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [c for c in m["per_class"] if c["gt_pixels"] > 0]
    names = [c["name"] for c in rows]
    vals = [100 * (c["iou"] or 0.0) for c in rows]
    fig, ax = plt.subplots(figsize=(6, 0.3 * len(rows) + 1.2))
    ax.barh(range(len(rows)), vals, color="#4477aa")
    ax.set_yticks(range(len(rows)), names)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("IoU (%)")
    if m.get("miou") is not None:
        ax.axvline(100 * m["miou"], color="#cc3311", ls="--", label=f"mIoU {100 * m['miou']:.1f}")
        ax.legend(loc="lower right")
    ax.set_title(f"{m['backend'].get('name', '')} on {m['dataset'].get('name', '')}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(matrix: np.ndarray, class_names, path: Path | str) -> None:
    """Row-normalised confusion matrix image (rows = ground truth; last column = no counterpart)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = np.asarray(matrix, float)
    rows = m.sum(1, keepdims=True)
    norm = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    names = list(class_names)
    k = len(names)
    fig, ax = plt.subplots(figsize=(0.45 * k + 2.5, 0.45 * k + 2))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k + 1), names + ["(no counterpart)"], rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("prediction")
    ax.set_ylabel("ground truth")
    if k <= 25:
        for i in range(k):
            for j in range(k + 1):
                if norm[i, j] >= 0.01:
                    ax.text(j, i, f"{100 * norm[i, j]:.0f}", ha="center", va="center", fontsize=6,
                            color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_reports(result: EvalResult, out_dir: Path | str, dataset: dict | None = None, fairness: bool = False,
                  n_boot: int = 1000, seed: int = 0, min_units: int = 5) -> dict[str, Path]:
    """Write all report files into ``out_dir``; returns ``{name: path}``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    m = metrics_dict(result, dataset)
    files = {"metrics.json": out / "metrics.json", "report.md": out / "report.md",
             "iou.png": out / "iou.png", "confusion.png": out / "confusion.png"}
    files["metrics.json"].write_text(json.dumps(m, indent=1))
    files["report.md"].write_text(metrics_markdown(m))
    plot_iou(m, files["iou.png"])
    plot_confusion(result.matrix, result.comparison.label_set.classes, files["confusion.png"])
    if fairness:
        f = fairness_dict(result, n_boot=n_boot, seed=seed, min_units=min_units)
        files["fairness.json"] = out / "fairness.json"
        files["fairness.md"] = out / "fairness.md"
        files["fairness.json"].write_text(json.dumps(f, indent=1))
        files["fairness.md"].write_text(fairness_markdown(f))
    return files


def _f(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


__all__ = ["run_context", "metrics_dict", "fairness_dict", "metrics_markdown", "fairness_markdown",
           "plot_iou", "plot_confusion", "write_reports"]
