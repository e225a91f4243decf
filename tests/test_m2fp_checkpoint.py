"""M2FP checkpoint format: ModelScope's published layout loads into our network with strict=True."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from humanparse.backends import get_backend
from humanparse.backends.m2fp.config import CHECKPOINT_FILE, CONFIG_FILE, M2FPConfig
from humanparse.backends.m2fp.model import M2FP, load_checkpoint, num_parameters

import reference_m2fp as ref

SMALL = M2FPConfig().reduced(backbone={"depth": 50}, encoder={"transformer_enc_layers": 1},
                             decoder={"dec_layers": 2, "num_queries": 12})


def _reference_or_skip():
    try:
        return ref.load_reference()
    except ImportError as e:
        pytest.skip(str(e))


def save_published_layout(directory, state_dict, cfg: M2FPConfig):
    """Write ``pytorch_model.pt`` (``{"model": state_dict}``) and ``configuration.json`` as ModelScope does."""
    directory.mkdir(parents=True, exist_ok=True)
    torch.save({"model": state_dict}, directory / CHECKPOINT_FILE)
    (directory / CONFIG_FILE).write_text(json.dumps(cfg.to_modelscope(), indent=2))
    return directory


def test_full_config_parameter_count_is_63_1_million():
    with torch.device("meta"):  # shapes only: no memory, no init time
        n = num_parameters(M2FP(M2FPConfig()))
    assert abs(n / 1e6 - 63.1) <= 0.1, n  # model card: 63.0 M (rounded); ModelScope's own class: 63.12 M


def test_full_config_keys_and_shapes_match_reference():
    _reference_or_skip()
    with torch.device("meta"):
        theirs = ref.build_reference(M2FPConfig().to_modelscope()["model"]).state_dict()
        ours = M2FP(M2FPConfig()).state_dict()
    theirs = {k: tuple(v.shape) for k, v in theirs.items() if not k.endswith("num_batches_tracked")}
    assert {k: tuple(v.shape) for k, v in ours.items()} == theirs


def test_reference_checkpoint_loads_strict_in_published_layout(tmp_path):
    _reference_or_skip()
    model = ref.randomize_(ref.build_reference(SMALL.to_modelscope()["model"]), seed=3)
    state = model.state_dict()
    assert any(k.endswith("num_batches_tracked") for k in state)  # BN buffers as the reference saves them
    d = save_published_layout(tmp_path / "ckpt", state, SMALL)
    ours = load_checkpoint(d)
    assert ours.cfg == SMALL
    mine = ours.state_dict()
    for k, v in state.items():
        if not k.endswith("num_batches_tracked"):
            assert torch.equal(mine[k], v), k


@pytest.mark.parametrize("edit, words", [
    (lambda s: s.pop("sem_seg_head.predictor.class_embed.weight"), ["missing", "class_embed.weight"]),
    (lambda s: s.__setitem__("sem_seg_head.extra.weight", torch.zeros(1)), ["unexpected", "sem_seg_head.extra"]),
    (lambda s: s.__setitem__("sem_seg_head.predictor.query_feat.weight", torch.zeros(7, 256)),
     ["shape", "query_feat"]),
])
def test_bad_keys_give_clear_error(tmp_path, edit, words):
    state = M2FP(SMALL).state_dict()
    edit(state)
    d = save_published_layout(tmp_path / "bad", state, SMALL)
    with pytest.raises(ValueError) as e:
        load_checkpoint(d)
    for w in words:
        assert w in str(e.value)


def test_training_only_entries_are_accepted(tmp_path):
    state = M2FP(SMALL).state_dict()
    state["criterion.empty_weight"] = torch.ones(22)  # detectron2 checkpoints carry the loss buffer
    state["backbone.stem.conv1.norm.num_batches_tracked"] = torch.tensor(0)
    model = load_checkpoint(save_published_layout(tmp_path / "d2", state, SMALL))
    assert torch.equal(model.state_dict()["backbone.stem.conv1.weight"], state["backbone.stem.conv1.weight"])


def test_missing_checkpoint_and_bad_config(tmp_path):
    with pytest.raises(FileNotFoundError, match="pytorch_model.pt"):
        load_checkpoint(tmp_path)
    with pytest.raises(ValueError, match="single-human"):
        M2FPConfig.from_modelscope({"model": {"single_human": True}})
    with pytest.raises(ValueError, match="norm"):
        M2FPConfig.from_modelscope({"model": {"backbone": {"norm": "GN"}}})
    with pytest.raises(ValueError, match="num_classes"):
        M2FPConfig.from_modelscope({"model": {"decoder": {"num_classes": 20}}})
    (tmp_path / CONFIG_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="configuration.json"):
        M2FPConfig.from_dir(tmp_path)


def test_config_roundtrip_through_configuration_json():
    cfg = SMALL.reduced(parsing_ins_score_thr=0.3)
    assert M2FPConfig.from_modelscope(json.loads(json.dumps(cfg.to_modelscope()))) == cfg


def test_get_backend_on_published_layout_end_to_end(tmp_path):
    model = ref.randomize_(M2FP(SMALL), seed=1)
    d = save_published_layout(tmp_path / "m2fp", model.state_dict(), SMALL)
    backend = get_backend("m2fp", weights=d, max_persons=3, min_size=96, max_size=160)
    img = ref.blob_image(150, 110, seed=5)
    p = backend.predict(img)
    assert (p.height, p.width) == (150, 110)
    assert p.labels.dtype == np.uint8 and p.labels.max() <= 19
    assert len(np.unique(p.labels)) > 1, "random checkpoint should still give several classes"
    ids = sorted(int(i) for i in np.unique(p.instances) if i)
    assert ids == list(range(1, len(p.persons) + 1)) and 1 <= len(p.persons) <= 3
    assert not np.any((p.instances > 0) & (p.labels == 0)), "person pixels must be labelled parts"
    assert all(0.0 < person.score <= 1.0 for person in p.persons)
    assert [x.score for x in p.persons] == sorted([x.score for x in p.persons], reverse=True)
    assert set(p.timings) == {"preprocess", "inference", "postprocess"}


def test_backend_rejects_bad_options_and_input(tmp_path):
    d = save_published_layout(tmp_path / "m2fp", M2FP(SMALL).state_dict(), SMALL)
    with pytest.raises(ValueError, match="runtime"):
        get_backend("m2fp", weights=d, runtime="tensorrt")
    with pytest.raises(ValueError, match="unknown m2fp option"):
        get_backend("m2fp", weights=d, wieghts=d)
    with pytest.raises(FileNotFoundError):
        get_backend("m2fp", weights=tmp_path / "nowhere")
    backend = get_backend("m2fp", weights=d, min_size=64, max_size=96)
    with pytest.raises(ValueError, match="uint8"):
        backend.predict(np.zeros((40, 40), np.uint8))


def test_weights_none_resolves_through_the_model_catalogue(tmp_path, monkeypatch):
    import humanparse.models as models

    d = save_published_layout(tmp_path / "cached", M2FP(SMALL).state_dict(), SMALL)
    asked = []
    monkeypatch.setattr(models, "resolve_weights", lambda name: asked.append(name) or d)
    backend = get_backend("m2fp", min_size=64, max_size=96)
    assert asked == ["m2fp-r101-cihp"] and backend.weights == d
