"""Shared fixtures: real photos that ship inside PyPI packages, and a fast fake backend for plumbing tests."""

from __future__ import annotations

import numpy as np
import pytest

from humanparse import samples
from humanparse.backends import _REGISTRY
from humanparse.backends.base import Backend
from humanparse.parsing import Parsing


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """scikit-image's astronaut photo (Eileen Collins, NASA, public domain): (512, 512, 3) uint8."""
    return samples.astronaut()


@pytest.fixture(scope="session")
def two_person_photo() -> np.ndarray:
    """Astronaut (left) and Grace Hopper (right) side by side at 512 px height: a real two-person photo."""
    return samples.two_person_photo(512)


class FakeBackend(Backend):
    """Deterministic stand-in: one 'person' per image, a centred box split into face / upper-clothes / pants."""

    name = "fake"
    label_set = "cihp"
    calls = 0

    def predict(self, image: np.ndarray) -> Parsing:
        type(self).calls += 1
        h, w = image.shape[:2]
        labels = np.zeros((h, w), np.uint8)
        if image.mean() < 1.0:  # an all-black image has nobody in it
            return Parsing.empty(h, w)
        y0, y1, x0, x1 = h // 8, h - h // 8, w // 3, w - w // 3
        third = (y1 - y0) // 3
        labels[y0 : y0 + third, x0:x1] = 13
        labels[y0 + third : y0 + 2 * third, x0:x1] = 5
        labels[y0 + 2 * third : y1, x0:x1] = 9
        return Parsing.from_maps(labels, (labels > 0).astype(np.uint16), "cihp", [0.9])


@pytest.fixture
def fake_backend(monkeypatch):
    """Registers :class:`FakeBackend` as backend ``"fake"`` and returns the class."""
    monkeypatch.setitem(_REGISTRY, "fake", ("conftest", "FakeBackend", ""))
    FakeBackend.calls = 0
    return FakeBackend
