"""Helpers of claims/test_dllwz2019_kernels.py: the in-claim check of the layer-wise NTK against
torch.func, the width grids of every profile, and the joint exponent decision (the layer-wise NTK
itself is tested in test_deep.py)."""

from __future__ import annotations

import importlib

import itertools

import pytest

from harness import ProblemSpec, trial_generators
from harness.networks.deep import DeepNet, layerwise_ntk
from harness.runtime.profiles import PROFILES, current_profile, set_profile




ck = importlib.import_module("harness.analysis.studies.dllwz2019_kernels")


@pytest.fixture(scope="module")
def problem():
    return ProblemSpec(n=6, d=5, seed=11).build()


def test_self_check_catches_a_wrong_kernel(problem):
    net = DeepNet("resnet", 12, 2, "tanh")
    params = net.init(problem.d, trial_generators("test.self_check", 0, 2))
    theta = layerwise_ntk(net, params, problem.X)
    ck._self_check(net, params, problem.X, theta)
    with pytest.raises(RuntimeError, match="disagrees"):
        ck._self_check(net, params, problem.X, theta * 1.001)


def test_width_grids_of_every_profile():
    before = current_profile().name
    try:
        got = {}
        for name in PROFILES:
            set_profile(name)
            got[name] = (ck.ntk_widths(), ck.gram_widths(), ck.ntk_seeds(), ck.gram_seeds())
            for ws in got[name][:2]:
                assert max(ws) <= ck.MAX_WIDTH
                assert all(b == 2 * a for a, b in itertools.pairwise(ws))
        assert got["quick"][:2] == ((32, 64, 128, 256, 512, 1024), (32, 64, 128, 256))
        assert got["quick"][2:] == (24, 12)
        assert got["nightly"][0][-1] == ck.MAX_WIDTH
    finally:
        set_profile(before)


def test_chunks_bound_the_memory():
    net = DeepNet("fc", 4096, 3, "softplus")
    gens = trial_generators("x", 0, 5)
    parts = ck._chunks(net, 10, gens)
    assert [len(p) for p in parts] == [1] * 5
    small = ck._chunks(DeepNet("fc", 32, 2, "softplus"), 10, gens)
    assert [len(p) for p in small] == [5]


