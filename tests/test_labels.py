import numpy as np
import pytest

from humanparse.labels import IGNORE, get_label_set, label_set_names, map_labels, mapping_lut, resolve_parts


def test_all_sets_load_with_one_colour_per_class_and_distinct_colours():
    names = label_set_names()
    assert {"cihp", "lip", "atr", "ppp", "mediapipe", "ccp", "coarse", "fashn", "cihp-bag"} <= set(names)
    sizes = {"cihp": 20, "lip": 20, "atr": 18, "ppp": 7, "mediapipe": 6, "ccp": 59, "coarse": 9, "cihp-bag": 21}
    for n in names:
        ls = get_label_set(n)
        assert ls.palette.shape == (len(ls), 3) and ls.palette.dtype == np.uint8
        assert ls.classes[0] == "background"
        assert len(set(map(tuple, ls.palette.tolist()))) == len(ls), f"{n}: palette colours repeat"
        if n in sizes:
            assert len(ls) == sizes[n]


def test_cihp_and_lip_differ_exactly_at_index_10():
    cihp, lip = get_label_set("cihp"), get_label_set("lip")
    assert cihp.classes[10] == "torso-skin" and lip.classes[10] == "jumpsuits"
    assert [a == b for a, b in zip(cihp.classes, lip.classes)].count(False) == 1


def test_every_mapping_table_covers_its_source_and_names_real_targets():
    for n in label_set_names():
        src = get_label_set(n)
        for dst_name, table in src.mappings.items():
            dst = get_label_set(dst_name)
            assert set(table) == set(src.classes), (n, dst_name)
            for target in table.values():
                assert target is None or target in dst.classes, (n, dst_name, target)


def test_map_labels_cihp_to_coarse_and_ignore():
    cihp = get_label_set("cihp")
    lm = np.array([[cihp.index("left-shoe"), cihp.index("right-arm")], [cihp.index("face"), 0]], np.uint8)
    out = map_labels(lm, "cihp", "coarse")
    coarse = get_label_set("coarse")
    assert out.tolist() == [[coarse.index("shoes"), coarse.index("skin")], [coarse.index("face"), 0]]
    ppp = map_labels(lm, "cihp", "ppp")
    assert ppp[0, 1] == IGNORE  # an arm spans upper and lower arm: no single PPP class
    assert ppp[1, 0] == get_label_set("ppp").index("head")


def test_composed_mapping_lip_to_coarse_via_table_and_atr_to_lip_via_cihp():
    lip = get_label_set("lip")
    out = map_labels(np.array([[lip.index("jumpsuits")]]), "lip", "coarse")
    assert get_label_set("coarse").classes[out[0, 0]] == "full-body-clothes"
    atr = get_label_set("atr")
    out = map_labels(np.array([[atr.index("belt"), atr.index("skirt")]]), "atr", "lip")
    assert [lip.classes[v] for v in out[0]] == ["pants", "skirt"]


def test_unlinked_sets_raise_and_unknown_names_list_choices():
    with pytest.raises(ValueError, match="no mapping"):
        mapping_lut("coarse", "ccp")
    with pytest.raises(KeyError, match="known"):
        get_label_set("nope")
    with pytest.raises(KeyError, match="valid"):
        get_label_set("cihp").index("tail")


def test_resolve_parts_accepts_own_coarse_and_person_names():
    cihp = get_label_set("cihp")
    assert resolve_parts("cihp", "shoes") == [cihp.index("left-shoe"), cihp.index("right-shoe")]
    assert resolve_parts("cihp", ["Hair", "upper_clothes"]) == [2, 5]
    assert resolve_parts("cihp", "person") == list(range(1, 20))
    with pytest.raises(KeyError, match="unknown part"):
        resolve_parts("cihp", "wings")


def test_cihp_bag_extends_cihp_and_maps_back():
    cihp, bag = get_label_set("cihp"), get_label_set("cihp-bag")
    assert bag.classes[:20] == cihp.classes and bag.classes[20] == "bag"
    np.testing.assert_array_equal(bag.palette[:20], cihp.palette)
    lm = np.array([[20, 13], [0, 19]], np.uint8)
    np.testing.assert_array_equal(map_labels(lm, "cihp-bag", "cihp"), [[0, 13], [0, 19]])
    coarse = get_label_set("coarse")
    assert map_labels(lm, "cihp-bag", "coarse")[0, 0] == coarse.index("accessories")
    assert map_labels(lm, "cihp-bag", "atr")[0, 0] == get_label_set("atr").index("bag")
    assert resolve_parts("cihp-bag", "bag") == [20] and resolve_parts("cihp-bag", "person") == list(range(1, 21))
    # every table of cihp-bag names every class (a missing one would silently become 'ignore')
    for dst, table in bag.mappings.items():
        assert set(table) == set(bag.classes), dst
