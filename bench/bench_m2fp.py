"""Side-by-side speed of ModelScope's reference M2FP and ours (eager PyTorch and ONNX Runtime).

Full configuration (ResNet-101, 6 encoder + 9 decoder layers, 100 queries), random weights shared
by all runs (one checkpoint in the published layout, written once). Timing: all runtimes live in
one process and run alternately, several rounds, best kept (the machine is shared, so its load
fluctuates). Peak RSS: one extra subprocess per (runtime, size).
Timed: network forward, and the instance post-process (label map + person instances) at the
input size. Pre-processing (resize/normalise) is excluded on both sides. The process runs with
``humanparse.malloc.tune_malloc()`` (what the m2fp backend applies) for every runtime, the
reference included; ``--no-malloc-tuning`` runs all of them with glibc's defaults.

    .venv/bin/python bench/bench_m2fp.py                      # 512x512 and 800x1333
    .venv/bin/python bench/bench_m2fp.py --parity             # full-config parity vs the reference
    .venv/bin/python bench/bench_m2fp.py --sizes 512x512 --runtimes reference,torch

Needs ``modelscope==1.40.2`` and ``addict==2.4.0`` for the reference (tests/reference_m2fp.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

WORK = Path(os.environ.get("M2FP_BENCH_DIR", Path(tempfile.gettempdir()) / "humanparse-m2fp-bench"))


def _image(h: int, w: int):
    import torch

    import reference_m2fp as ref

    return torch.from_numpy(ref.blob_image(h, w, seed=1)).permute(2, 0, 1).float()


def make_checkpoint(threads: int) -> Path:
    """Random full-config checkpoint in the published layout (reference's state_dict if available)."""
    import torch

    import reference_m2fp as ref
    from humanparse.backends.m2fp.config import CHECKPOINT_FILE, CONFIG_FILE, M2FPConfig
    from humanparse.backends.m2fp.model import M2FP

    ckpt = WORK / "ckpt"
    if (ckpt / CHECKPOINT_FILE).is_file():
        return ckpt
    torch.set_num_threads(threads)
    cfg = M2FPConfig()
    try:
        model = ref.build_reference(cfg.to_modelscope()["model"])
    except ImportError:
        model = M2FP(cfg)
    ref.randomize_(model, seed=0)
    ckpt.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict()}, ckpt / CHECKPOINT_FILE)
    (ckpt / CONFIG_FILE).write_text(json.dumps(cfg.to_modelscope(), indent=2))
    return ckpt


def load_runtime(runtime: str, threads: int):
    """``(forward, post)`` callables for ``runtime`` in this process (weights from the shared checkpoint)."""
    import torch

    torch.set_num_threads(threads)
    ckpt = WORK / "ckpt"
    if runtime == "reference":
        import reference_m2fp as ref
        from humanparse.backends.m2fp.config import M2FPConfig

        model = ref.build_reference(M2FPConfig().to_modelscope()["model"])
        model.load_state_dict(torch.load(ckpt / "pytorch_model.pt", weights_only=True)["model"])
        model.eval()

        def forward(x):
            with torch.no_grad():
                return model.forward({"batched_inputs": [{"image": x, "height": x.shape[1], "width": x.shape[2]}]})

        def post(out):
            with torch.no_grad():
                return model.postprocess(out)["eval_result"][0]["parsing"]
        return forward, post

    from humanparse.backends.m2fp.model import load_checkpoint
    from humanparse.backends.m2fp.postprocess import parse_instances

    model = load_checkpoint(ckpt)
    cfg = model.cfg
    mean = torch.tensor(cfg.pixel_mean).view(3, 1, 1)
    std = torch.tensor(cfg.pixel_std).view(3, 1, 1)
    if runtime == "onnx":
        from humanparse.backends.m2fp.onnx_runtime import OnnxM2FP, cached_onnx

        net = OnnxM2FP(cached_onnx(model, ckpt, WORK / "cache"), threads)
        del model
    else:
        net = model.optimize_for_inference()

    def forward(x):
        xh, xw = x.shape[1:]
        ph, pw = -(-xh // 32) * 32, -(-xw // 32) * 32
        t = torch.nn.functional.pad((x - mean) / std, (0, pw - xw, 0, ph - xh))[None]
        with torch.inference_mode():
            logits, masks = net(t)
        return logits, masks, (ph, pw), (xh, xw)

    def post(out):
        logits, masks, padded, hw = out
        return parse_instances(logits[0], masks[0], padded, hw, hw, num_parsing=cfg.num_parsing,
                               part_score_thr=cfg.parsing_ins_score_thr)
    return forward, post


def time_once(forward, post, img) -> tuple[float, float]:
    """Seconds of one forward and one post-process."""
    t0 = time.perf_counter()
    out = forward(img)
    t1 = time.perf_counter()
    post(out)
    return t1 - t0, time.perf_counter() - t1


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (``VmHWM``; ``ru_maxrss`` would include the
    parent's size at fork time)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(runtime: str, h: int, w: int, threads: int, repeat: int) -> dict:
    """Child process body (peak RSS of one runtime at one size): load, warm up at 256x256, time."""
    forward, post = load_runtime(runtime, threads)
    post(forward(_image(256, 256)))  # warm-up (oneDNN primitives, allocator)
    img = _image(h, w)
    times = [time_once(forward, post, img) for _ in range(repeat)]
    rss_mb = peak_rss_mb()
    return {"runtime": runtime, "size": f"{h}x{w}", "forward_s": min(t[0] for t in times),
            "post_s": min(t[1] for t in times), "peak_rss_mb": rss_mb}


def interleaved(runtimes: list[str], sizes, threads: int, rounds: int) -> dict:
    """All runtimes in this process, alternating run by run (fair under a fluctuating machine load).

    Returns ``{(size, runtime): [(forward_s, post_s), ...]}``.
    """
    loaded = {rt: load_runtime(rt, threads) for rt in runtimes}
    for fwd, pst in loaded.values():
        pst(fwd(_image(256, 256)))
    res: dict = {}
    for h, w in sizes:
        img = _image(h, w)
        for rnd in range(rounds):
            for rt, (fwd, pst) in loaded.items():
                f, p = time_once(fwd, pst, img)
                res.setdefault((f"{h}x{w}", rt), []).append((f, p))
                print(f"interleaved round {rnd + 1}: {rt:>9} {h}x{w}  forward {f:7.2f} s  post {p:6.2f} s", flush=True)
    return res


def parity(sizes: list[tuple[int, int]], threads: int) -> None:
    """Full-configuration parity: same random weights through both networks and post-processes."""
    import numpy as np
    import torch

    import reference_m2fp as ref
    from humanparse.backends.m2fp.model import load_checkpoint
    from humanparse.backends.m2fp.postprocess import parse_instances

    torch.set_num_threads(threads)
    ckpt = make_checkpoint(threads)
    from humanparse.backends.m2fp.config import M2FPConfig

    theirs = ref.build_reference(M2FPConfig().to_modelscope()["model"])
    theirs.load_state_dict(torch.load(ckpt / "pytorch_model.pt", weights_only=True)["model"])
    theirs.eval()
    ours = load_checkpoint(ckpt).optimize_for_inference()
    cfg = ours.cfg
    for h, w in sizes:
        img = _image(h, w)
        out, parsing = ref.reference_forward(theirs, img)
        x = ((img - torch.tensor(cfg.pixel_mean).view(3, 1, 1)) / torch.tensor(cfg.pixel_std).view(3, 1, 1))
        ph, pw = -(-h // 32) * 32, -(-w // 32) * 32
        x = torch.nn.functional.pad(x, (0, pw - w, 0, ph - h))[None]
        with torch.inference_mode():
            logits, masks = ours(x)
        labels, inst, _ = ref.reference_maps(parsing)
        res = parse_instances(logits[0], masks[0], (ph, pw), (h, w), (h, w),
                              part_score_thr=cfg.parsing_ins_score_thr, return_probs=True)
        dl = (logits - out["pred_logits"]).abs().max().item()
        dm = (masks - out["pred_masks"]).abs().max().item()
        print(f"parity {h}x{w}: max|d logits| {dl:.2e} (max |logit| {out['pred_logits'].abs().max():.1f}), "
              f"max|d masks| {dm:.2e} (max |mask| {out['pred_masks'].abs().max():.1f}), "
              f"label map agreement {np.mean(res.labels == labels) * 100:.4f} %, "
              f"instance map agreement {np.mean(res.instances == inst) * 100:.4f} % "
              f"({len(np.unique(labels))} classes, {int(inst.max())} persons in the reference)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="512x512,800x1333")
    ap.add_argument("--runtimes", default="reference,torch,onnx")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per subprocess (best is reported)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (best forward/post reported)")
    ap.add_argument("--parity", action="store_true", help="check full-config parity instead of timing")
    ap.add_argument("--no-malloc-tuning", action="store_true",
                    help="leave glibc malloc at its defaults (for every runtime)")
    ap.add_argument("--child", nargs=3, metavar=("RUNTIME", "H", "W"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.no_malloc_tuning:
        os.environ["HUMANPARSE_MALLOC_TUNING"] = "0"  # also seen by the subprocesses
    from humanparse.malloc import tune_malloc

    tuned = tune_malloc()
    if not a.child:
        print(f"glibc malloc tuning: {'on' if tuned else 'off'} (all runtimes)", flush=True)
    sizes = [tuple(int(v) for v in s.split("x")) for s in a.sizes.split(",")]
    if a.child:
        print(json.dumps(run_one(a.child[0], int(a.child[1]), int(a.child[2]), a.threads, a.repeat)))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    if a.parity:
        parity(sizes, a.threads)
        return
    make_checkpoint(a.threads)
    runtimes = a.runtimes.split(",")
    # 1) timing: every runtime in one process, interleaved run by run
    timing = interleaved(runtimes, sizes, a.threads, a.rounds)
    # 2) peak RSS: one subprocess per (runtime, size); its single timed run also counts
    rss = {}
    for h, w in sizes:
        for rt in runtimes:
            cmd = [sys.executable, __file__, "--child", rt, str(h), str(w), "--threads", str(a.threads),
                   "--repeat", "1"]
            p = subprocess.run(cmd, capture_output=True, text=True)
            if p.returncode:
                print(f"{rt} {h}x{w} failed:\n{p.stderr[-2000:]}", file=sys.stderr)
                continue
            r = json.loads(p.stdout.strip().splitlines()[-1])
            rss[(r["size"], rt)] = r["peak_rss_mb"]
            timing.setdefault((r["size"], rt), []).append((r["forward_s"], r["post_s"]))
            print(f"subprocess: {rt:>9} {r['size']:>9}  forward {r['forward_s']:7.2f} s  post {r['post_s']:6.2f} s"
                  f"  peak RSS {r['peak_rss_mb']:6.0f} MB", flush=True)
    rows = [{"runtime": rt, "size": size, "forward_s": min(t[0] for t in ts), "post_s": min(t[1] for t in ts),
             "peak_rss_mb": rss.get((size, rt), float("nan"))} for (size, rt), ts in timing.items()]
    print(f"\nbest of {a.rounds} interleaved round(s) + 1 subprocess run, {a.threads} threads, glibc malloc tuning "
          f"{'on' if tuned else 'off'}; peak RSS of the subprocess run (load + warm-up + run; onnx: session on the "
          "cached export)")
    print("\n| size | runtime | forward s | post-process s | total s | speed-up vs reference | peak RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        base = next((b for b in rows if b["size"] == r["size"] and b["runtime"] == "reference"), None)
        tot = r["forward_s"] + r["post_s"]
        sp = f"{(base['forward_s'] + base['post_s']) / tot:.2f}x" if base else "-"
        print(f"| {r['size']} | {r['runtime']} | {r['forward_s']:.2f} | {r['post_s']:.2f} | {tot:.2f} | {sp} | "
              f"{r['peak_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
