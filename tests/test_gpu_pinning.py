"""One GPU per pytest-xdist worker (CUDA_VISIBLE_DEVICES from the worker id and a faked device
list). Out-of-memory handling is tested in test_out_of_memory.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch

from harness.runtime.devices import DeviceError, gpu_for_worker, pin_worker_gpu, visible_gpus


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CUDA_VISIBLE_DEVICES": "0,1,2,3"}, ["0", "1", "2", "3"]),
        ({"CUDA_VISIBLE_DEVICES": " 4, 6 "}, ["4", "6"]),
        ({"CUDA_VISIBLE_DEVICES": "GPU-8a1b,GPU-77ff"}, ["GPU-8a1b", "GPU-77ff"]),
        ({"CUDA_VISIBLE_DEVICES": "MIG-1c2d"}, ["MIG-1c2d"]),
        ({"CUDA_VISIBLE_DEVICES": ""}, []),
        ({"CUDA_VISIBLE_DEVICES": "-1"}, []),
        ({"CUDA_VISIBLE_DEVICES": "2,-1,3"}, ["2"]),  # CUDA stops at the first invalid entry
        ({}, ["0", "1", "2"]),  # unset: counted (3 faked devices)
    ],
)
def test_visible_gpus(env, expected):
    assert visible_gpus(env, count=lambda: 3) == expected


def test_visible_gpus_counts_with_torch_by_default(monkeypatch):
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert visible_gpus({}) == ["0", "1"]


def test_gpu_for_worker_round_robin():
    gpus = ["GPU-a", "GPU-b", "GPU-c"]
    assert [gpu_for_worker(f"gw{k}", gpus) for k in range(7)] == ["GPU-a", "GPU-b", "GPU-c", "GPU-a", "GPU-b", "GPU-c", "GPU-a"]
    assert gpu_for_worker("gw12", ["0", "1"]) == "0"
    assert gpu_for_worker("gw0", []) is None
    with pytest.raises(ValueError, match="not an xdist worker id"):
        gpu_for_worker("master", ["0"])


def test_pin_sets_the_variable_and_refuses_after_cuda_started(monkeypatch):
    env = {"CUDA_VISIBLE_DEVICES": "4,6"}
    assert pin_worker_gpu("gw1", visible_gpus(env), env) == "6"
    assert env["CUDA_VISIBLE_DEVICES"] == "6"
    env = {}
    assert pin_worker_gpu("gw0", [], env) is None and env == {}  # no GPUs: nothing set
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    env = {"CUDA_VISIBLE_DEVICES": "4,6"}
    with pytest.raises(DeviceError, match="initialized before the plugin could pin it"):
        pin_worker_gpu("gw0", ["4", "6"], env)
    assert env["CUDA_VISIBLE_DEVICES"] == "4,6"


@pytest.mark.parametrize(("device", "off", "wanted"), [("auto", False, True), ("cuda", False, True), ("CUDA", False, True),
                                                       ("cuda:1", False, False), ("cpu", False, False), ("auto", True, False)])
def test_pinning_only_for_auto_or_cuda(device, off, wanted):
    from harness.plugin import _pinning_wanted

    opts = {"--device": device, "--claims-no-gpu-pinning": off}
    assert _pinning_wanted(SimpleNamespace(getoption=opts.__getitem__)) is wanted


PROBE = '''
import os

from hypothesis import given, strategies as st

from harness import claim, evidence
from harness.contract.papers import DZPS


def _probe(cid):
    @claim(id=cid, paper=DZPS, theorem="T", statement="the worker sees one GPU")
    @given(x=st.integers(0, 3))
    def test(x):
        evidence().note(os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"))
        assert "," not in os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return test


test_p1 = _probe("pin.p1")
test_p2 = _probe("pin.p2")
test_p3 = _probe("pin.p3")
test_p4 = _probe("pin.p4")
'''


def test_xdist_workers_each_get_their_gpu(tmp_path):
    """-n 2 with a faked device list "3,5": worker gwK runs its claims with CUDA_VISIBLE_DEVICES
    set to entry K % 2 (set in the worker before CUDA could start; this torch has no CUDA)."""
    (tmp_path / "test_probe.py").write_text(PROBE)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "3,5"}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "-q", "test_probe.py", "--rootdir", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, env=env,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "reports" / "latest" / "report.json").read_text())
    seen = {(c["worker"], c["cuda_visible_devices"]) for c in report["claims"]}
    assert len(report["claims"]) == 4
    assert seen <= {("gw0", "3"), ("gw1", "5")}, seen
    assert {w for w, _ in seen} == {"gw0", "gw1"}  # both workers ran claims
    assert all(c["representative"]["notes"] == [c["cuda_visible_devices"]] for c in report["claims"])
