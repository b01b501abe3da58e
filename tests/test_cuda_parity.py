"""CUDA against CPU, float64: the same numbers to 1e-10 (skipped on a machine without CUDA).

Run by ``bash benchmarks/gpu_check.sh`` on a GPU machine, which also runs both benchmarks with
``--device cuda`` and a timed slice of the standard profile. TF32 is off (harness.runtime.devices), so float64
results on the GPU differ from the CPU's only by the order of floating-point reductions.
"""

from __future__ import annotations

import pytest
import torch

from harness import Record, TwoLayerReLU, train
from harness.networks.deep import DeepNet, empirical_ntk, layerwise_ntk
from harness.training.deep_engine import train_deep
from harness.runtime.devices import configure_numerics
from harness.data.problems import ProblemSpec
from harness.runtime.seeding import trial_generators

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
TOL = 1e-10


@pytest.fixture(autouse=True)
def _numerics():
    configure_numerics()


def _close(a: torch.Tensor, b: torch.Tensor, what: str) -> None:
    a, b = a.detach().cpu().to(torch.float64), b.detach().cpu().to(torch.float64)
    scale = max(float(b.abs().max()), 1e-300)
    err = float((a - b).abs().max()) / scale
    assert err <= TOL, f"{what}: CUDA and CPU differ by {err:.2e} (relative to the largest entry) > {TOL:g}"


@pytest.mark.parametrize("m", [64, 2048])
def test_two_layer_engine(m):
    p = ProblemSpec(n=12, d=6, seed=3).build()
    gens = lambda: trial_generators("cuda-parity", 3, 4)  # noqa: E731
    runs = {
        dev: train(p, TwoLayerReLU(m), steps=200, eta=1 / p.lambda_max, generators=gens(), record=Record(), device=dev)
        for dev in ("cpu", "cuda")
    }
    _close(runs["cuda"].loss, runs["cpu"].loss, f"two-layer loss, m={m}")
    _close(runs["cuda"].drift, runs["cpu"].drift, f"two-layer drift, m={m}")


def _deep(family: str, smooth: str, seed: int, trials: int):
    """A small deep net of ``family`` (ReLU for he, else ``smooth``), its problem and its parameters."""
    p = ProblemSpec(n=8, d=5, seed=seed).build()
    net = DeepNet(family, 32, 3, activation="relu" if family == "he" else smooth)
    return p, net, net.init(p.d, trial_generators(f"cuda-parity-{family}", seed, trials))


@pytest.mark.parametrize("family", ["fc", "resnet", "he"])
def test_train_deep(family):
    p, net, par = _deep(family, "softplus", 1, 3)
    runs = {
        dev: train_deep(net, {k: v.clone() for k, v in par.items()}, p.X, p.y, steps=50, eta=0.05, device=dev, keep_params=True)
        for dev in ("cpu", "cuda")
    }
    _close(runs["cuda"].loss, runs["cpu"].loss, f"train_deep loss ({family})")


@pytest.mark.parametrize("family", ["fc", "resnet", "he"])
def test_empirical_and_layerwise_ntk(family):
    p, net, par = _deep(family, "tanh", 2, 2)
    on = lambda dev: ({k: v.to(dev) for k, v in par.items()}, p.X.to(dev))  # noqa: E731
    cpu, cuda = on("cpu"), on("cuda")
    _close(empirical_ntk(net, *cuda), empirical_ntk(net, *cpu), f"empirical NTK ({family})")
    _close(layerwise_ntk(net, *cuda), layerwise_ntk(net, *cpu), f"layer-wise NTK ({family})")
