"""M2FP instance parsing: class/mask logits -> label map, person instance map, person scores.

Follows M2FP's inference (ModelScope ``M2FP.instance_parsing_inference`` and soeaver/M2FP
``ParsingEvaluator.process``), vectorised:

1. class scores ``softmax(logits)[:, :-1]``; the top ``k`` (query, class) pairs are kept
   (``k = test_topk_per_image = 100``); each pair's score is multiplied by its mask score
   (mean sigmoid inside the mask ``logit > 0``).
2. Label map: every part pair (class < ``num_parsing``, background included) with score
   >= ``parsing_ins_score_thr`` pastes ``v = sigmoid(mask) * score`` where ``v > 0.5``; each class map
   is the mean of the pasted ``v``; the label map is the argmax over the ``num_parsing`` maps.
3. Persons: "human" pairs with score > 0.1, painted in ascending score order where ``mask > 0``
   (a higher score wins an overlap). Ids here are in descending score order (1 = best); a person's
   pixels are restricted to foreground labels.
4. Person score (M2FP's APr parsing score): human score times the mean, over the part classes
   present in that person, of the best part-instance score whose pasted area touches the person.

Since a pair's final score never exceeds its class score, pairs whose class score cannot pass
any threshold are dropped before any full-resolution work; only the surviving queries are
upsampled (in chunks), which is what makes this much faster than the reference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class InstanceParsing:
    """Result of :func:`parse_instances`.

    Attributes:
        labels: ``(H, W)`` uint8 label map (0..num_parsing-1; CIHP ids for the CIHP head).
        instances: ``(H, W)`` uint16 person map, 0 = none, ids 1..N in descending score order.
        scores: per person (index ``id - 1``) M2FP parsing score in [0, 1] if requested, else
            the human scores.
        human_scores: per person detection score (class score x mask score) in [0, 1].
        class_probs: ``(num_parsing, H, W)`` float32 class maps (step 2), only if requested.
    """

    labels: np.ndarray
    instances: np.ndarray
    scores: list[float]
    human_scores: list[float]
    class_probs: torch.Tensor | None = None


def upsample_masks(masks: torch.Tensor, padded_hw: tuple[int, int], image_hw: tuple[int, int],
                   out_hw: tuple[int, int]) -> torch.Tensor:
    """Mask logits ``(Q, h, w)`` at stride 4 -> ``(Q, *out_hw)``, as the reference does.

    Bilinear (align_corners=False) to the padded input size, crop the valid ``image_hw`` (the
    resized image before padding), then bilinear to the original image size ``out_hw``.
    The first two steps are one call: ATen's ``upsample_bilinear2d`` with the padded size's scale
    factors and the cropped output size computes exactly the cropped pixels (same source
    coordinates, bit-identical), without the padded intermediate and the copy of its crop.
    """
    h, w = masks.shape[-2:]
    x = torch.ops.aten.upsample_bilinear2d.default(masks[None], [int(image_hw[0]), int(image_hw[1])], False,
                                                   padded_hw[0] / h, padded_hw[1] / w)
    if tuple(image_hw) != tuple(out_hw):
        x = F.interpolate(x, size=out_hw, mode="bilinear", align_corners=False)
    return x[0]


@torch.inference_mode()
def parse_instances(pred_logits: torch.Tensor, pred_masks: torch.Tensor, padded_hw: tuple[int, int],
                    image_hw: tuple[int, int], out_hw: tuple[int, int], *, num_parsing: int = 20,
                    part_score_thr: float = 0.5, human_score_thr: float = 0.1, topk: int = 100,
                    max_persons: int | None = None, return_probs: bool = False,
                    parsing_scores: bool = False, chunk: int = 8) -> InstanceParsing:
    """Label map and person instances of one image (see module docstring for the method).

    Args:
        pred_logits: ``(Q, num_parsing + 2)`` class logits (parts incl. background, human, no-object).
        pred_masks: ``(Q, h, w)`` mask logits at stride 4 of the padded input.
        padded_hw: network input size (multiple of 32); image_hw: resized image inside it;
        out_hw: original image size of the returned maps.
        part_score_thr: ``parsing_ins_score_thr``; human_score_thr: 0.1 in M2FP.
        max_persons: keep only the best this many persons (``None`` = all).
        return_probs: also return the per-class maps; parsing_scores: also compute M2FP's parsing
            score per person (keeps the pasted part masks; otherwise ``scores`` = ``human_scores``).
        chunk: queries upsampled at a time (bounds peak memory).
    Returns:
        :class:`InstanceParsing`.
    Raises:
        ValueError: inconsistent shapes.
    """
    if pred_logits.dim() != 2 or pred_masks.dim() != 3 or pred_logits.shape[0] != pred_masks.shape[0]:
        raise ValueError(f"expected (Q, C+1) logits and (Q, h, w) masks, got {tuple(pred_logits.shape)} "
                         f"and {tuple(pred_masks.shape)}")
    n_cls = pred_logits.shape[1] - 1
    if n_cls != num_parsing + 1:
        raise ValueError(f"{n_cls} classes but num_parsing={num_parsing} (+ human) expected")
    H, W = int(out_hw[0]), int(out_hw[1])
    pred_logits, pred_masks = pred_logits.float(), pred_masks.float()

    cls_scores = pred_logits.softmax(-1)[:, :-1]
    top_scores, top_idx = cls_scores.flatten().topk(min(topk, cls_scores.numel()), sorted=False)
    top_label, top_query = top_idx % n_cls, torch.div(top_idx, n_cls, rounding_mode="floor")
    is_human = top_label == num_parsing
    keep = torch.where(is_human, top_scores > human_score_thr, top_scores >= part_score_thr)
    top_scores, top_label, top_query, is_human = top_scores[keep], top_label[keep], top_query[keep], is_human[keep]

    # One pass over the surviving queries, a chunk at a time: upsample, mask score, then paste the
    # parts and paint the humans of this chunk. Nothing of size (queries x H x W) is kept but the
    # boolean pasted-part masks (needed for the person scores).
    uq, inv = torch.unique(top_query, return_inverse=True)
    acc = torch.zeros((num_parsing, H * W), dtype=torch.float32)
    cnt = torch.zeros((num_parsing, H * W), dtype=torch.float32)  # pastes per class (<= topk)
    best = torch.zeros(H * W, dtype=torch.float32)  # score of the person painted on each pixel
    who = torch.zeros(H * W, dtype=torch.int64)  # index into the human pairs
    pasted_chunks, p_lab_chunks, p_s_chunks, h_scores = [], [], [], []
    n_h = 0
    for i in range(0, len(uq), chunk):
        lg = upsample_masks(pred_masks[uq[i:i + chunk]], padded_hw, image_hw, (H, W)).reshape(-1, H * W)
        on = lg > 0
        pr = lg.sigmoid_()
        area = on.view(torch.uint8).sum(1, dtype=torch.int32).float()  # = count_nonzero, ~20x faster
        mscore = torch.where(on, pr, 0.0).sum(1) / (area + 1e-6)
        sel = (inv >= i) & (inv < i + chunk)
        rows, lab, sc = inv[sel] - i, top_label[sel], top_scores[sel] * mscore[inv[sel] - i]
        hum = lab == num_parsing
        part = ~hum & (sc >= part_score_thr)
        if part.any():  # label map: mean of pasted part probabilities per class
            v = pr.index_select(0, rows[part]).mul_(sc[part, None])
            F.threshold_(v, 0.5, 0.0)  # pasted where v > 0.5, 0 elsewhere
            pasted = torch.sign(v)  # 1.0 where pasted, else 0.0
            # per-class sums: only the rows of the classes pasted here are read and written
            acc.index_add_(0, lab[part], v)
            cnt.index_add_(0, lab[part], pasted)
            if parsing_scores:
                pasted_chunks.append(pasted > 0)
            p_lab_chunks.append(lab[part])
            p_s_chunks.append(sc[part])
        hum &= sc > human_score_thr
        if hum.any():  # persons: the highest-scoring human mask wins each pixel (M2FP paints in
            hs = sc[hum]  # ascending score order)
            val, arg = torch.where(on[rows[hum]], hs[:, None], torch.zeros(())).max(0)
            upd = val > best
            best = torch.where(upd, val, best)
            who = torch.where(upd, arg + n_h, who)
            h_scores.append(hs)
            n_h += len(hs)
    class_probs = acc.div_(cnt.clamp_min_(1))
    labels = _argmax_rows(class_probs)
    h_s = torch.cat(h_scores) if h_scores else torch.zeros(0)
    painted = best > 0
    present = torch.bincount(who[painted], minlength=n_h).nonzero().squeeze(1)
    present = present[torch.argsort(h_s[present], descending=True, stable=True)]
    if max_persons is not None:
        present = present[:max_persons]
    lut = torch.zeros(n_h + 1, dtype=torch.int64)
    lut[present] = torch.arange(1, len(present) + 1)
    person = torch.where(painted, lut[who], torch.zeros_like(who))  # ids by descending score
    pasted = torch.cat(pasted_chunks) if pasted_chunks else torch.zeros((0, H * W), dtype=torch.bool)
    p_lab = torch.cat(p_lab_chunks) if p_lab_chunks else torch.zeros(0, dtype=torch.int64)
    p_s = torch.cat(p_s_chunks) if p_s_chunks else torch.zeros(0)

    human_scores = h_s[present]
    person_scores = human_scores
    if parsing_scores:
        person_scores = _parsing_scores(person, len(present), labels, pasted, p_lab, p_s, human_scores,
                                        num_parsing)
    inst = torch.where(labels > 0, person, torch.zeros_like(person))
    return InstanceParsing(
        labels=labels.view(H, W).to(torch.uint8).numpy(),
        instances=inst.view(H, W).to(torch.int32).numpy().astype(np.uint16),
        scores=[float(s) for s in person_scores],
        human_scores=[float(s) for s in human_scores],
        class_probs=class_probs.view(num_parsing, H, W) if return_probs else None,
    )


def _argmax_rows(x: torch.Tensor) -> torch.Tensor:
    """``x.argmax(0)`` for a ``(C, N)`` tensor with small ``C`` (first maximum wins, as argmax), as a
    running maximum over rows: reads ``x`` row by row instead of striding across rows."""
    best, arg = x[0].clone(), torch.zeros(x.shape[1], dtype=torch.int64)
    for c in range(1, x.shape[0]):
        upd = x[c] > best
        best = torch.maximum(best, x[c], out=best)
        arg.masked_fill_(upd, c)
    return arg


def _parsing_scores(person: torch.Tensor, n: int, labels: torch.Tensor, pasted: torch.Tensor,
                    part_labels: torch.Tensor, part_scores: torch.Tensor, human_scores: torch.Tensor,
                    num_parsing: int) -> torch.Tensor:
    """M2FP parsing score per person (``ParsingEvaluator.process``): ``human score x mean over
    present part classes of the best part-instance score touching the person`` (0 if none)."""
    if n == 0:
        return human_scores
    touch = torch.zeros((len(part_labels), n), dtype=torch.bool)  # part paste meets person j
    if len(part_labels):
        for j in range(n):  # a few persons; each test is vectorised over parts and pixels
            touch[:, j] = pasted[:, person == j + 1].any(1)
    best = torch.zeros((num_parsing, n))
    if len(part_labels):
        cand = torch.where(touch, part_scores[:, None], torch.zeros(()))  # (Np, n)
        best = best.scatter_reduce(0, part_labels[:, None].expand(-1, n), cand, reduce="amax")
    best[0] = 0  # background has no part instances
    counts = torch.bincount(labels * (n + 1) + person, minlength=num_parsing * (n + 1))
    counts = counts.view(num_parsing, n + 1)[:, 1:]  # pixels per (class, person)
    used = (counts > 0) & (best > 0)
    total = (best * (counts > 0)).sum(0)
    k = used.sum(0)
    return torch.where(k > 0, total * human_scores / k.clamp_min(1), torch.zeros_like(total))
