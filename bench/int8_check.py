"""Would int8 weights and activations do for the shipped ``lite`` network? (Measurement only; nothing is shipped.)

Quantizes the shipped network (``lite0-cihp-bag.pt`` exported to float32 ONNX) with ONNX Runtime's static
QDQ quantization (int8 per-channel weights, uint8 activations, MinMax calibration on augmented CCP
**train** crops), then prints, against the float32 export:

* the network time of 5 crops (median of 7 runs, 2 threads) of the float32, shipped and int8 files;
* CIHP-20 + bag mIoU on the 101 CCP validation crops (the figure the issue's "< 0.5 point" rule is about);
* arg-max agreement with the float32 network on those crops, and with PyTorch on the two-person sample
  photo (the check of ``tests/test_backend_lite.py``, which asks for >= 99.5 %).

Usage (needs ``../shared/data/ccp`` and the teacher targets that ``make train`` caches)::

    .venv/bin/python bench/int8_check.py --targets train-out/targets-cihp-bag [--calib 96]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=Path, required=True, help="cached cihp-bag targets of the CCP photos")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/ccp"))
    ap.add_argument("--calib", type=int, default=96, help="calibration crops (train split)")
    args = ap.parse_args()

    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from humanparse import samples
    from humanparse.backends.lite.crops import crop_matrix, warp_image
    from humanparse.backends.lite.weights import WEIGHTS_DIR, shipped_weights
    from humanparse.nn.parsenet import ParseNet
    from humanparse.train.data import Augment, CropDataset, ccp_ids
    from humanparse.train.export import export_onnx, onnx_predictor
    from humanparse.train.loop import validate

    tmp = Path(tempfile.mkdtemp(prefix="int8-"))
    fp32 = export_onnx(WEIGHTS_DIR / "lite0-cihp-bag.pt", tmp / "fp32.onnx", fp16_weights=False)
    quant_pre_process(str(fp32), str(tmp / "pre.onnx"))
    train = CropDataset(args.data, ccp_ids(args.data, "train"), args.targets, Augment(), seed=1)
    crops = [train.sample(i * 13 % len(train), 0)[0] for i in range(args.calib)]

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(crops)

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"image": x.transpose(2, 0, 1)[None].astype(np.float32)}

    int8 = tmp / "int8.onnx"
    quantize_static(str(tmp / "pre.onnx"), str(int8), Reader(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True)

    val = CropDataset(args.data, ccp_ids(args.data, "val"), args.targets, None)
    x5 = np.stack([val.sample(i)[0] for i in range(5)]).transpose(0, 3, 1, 2).astype(np.float32)
    for name, f in (("float32", fp32), ("shipped (float16 weights)", shipped_weights()), ("int8", int8)):
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.log_severity_level = 2, 3
        s = ort.InferenceSession(str(f), so, providers=["CPUExecutionProvider"])
        s.run(None, {"image": x5})
        ts = []
        for _ in range(7):
            t = time.perf_counter()
            s.run(None, {"image": x5})
            ts.append(time.perf_counter() - t)
        print(f"{name}: {f.stat().st_size / 1e6:.2f} MB, 5 crops {1e3 * float(np.median(ts)):.1f} ms")

    ref, q = onnx_predictor(fp32), onnx_predictor(int8)
    agree = []
    for s in range(0, len(val), 8):
        x = np.stack([val.sample(i)[0] for i in range(s, min(len(val), s + 8))])
        agree.append((ref(x).argmax(1) == q(x).argmax(1)).mean((1, 2)))
    agree = np.concatenate(agree)
    print(f"validation mIoU: float32 {validate(ref, val)['miou']:.2f} %, int8 {validate(q, val)['miou']:.2f} %")
    print(f"arg-max agreement int8 vs float32 on {len(agree)} validation crops: mean {100 * agree.mean():.2f} %, "
          f"lowest {100 * agree.min():.2f} %")

    photo = samples.two_person_photo(512)
    h, w = photo.shape[:2]
    x = np.stack([warp_image(photo, crop_matrix(b)) for b in [(0, 0, w // 2, h), (w // 2, 0, w, h), (0, 0, w, h)]])
    state = torch.load(WEIGHTS_DIR / "lite0-cihp-bag.pt", map_location="cpu", weights_only=True)
    model = ParseNet.from_state_dict({k: v.float() for k, v in state.items()}).eval()
    with torch.no_grad():
        t = model(torch.from_numpy(x).permute(0, 3, 1, 2).float()).numpy().argmax(1)
    for name, f in (("shipped", shipped_weights()), ("int8", int8)):
        print(f"arg-max agreement {name} vs PyTorch on the two-person photo: "
              f"{100 * (onnx_predictor(f)(x).argmax(1) == t).mean():.2f} % (test threshold 99.5 %)")


if __name__ == "__main__":
    main()
