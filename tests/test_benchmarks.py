"""The deep benchmark runs, agrees with its naive baseline, and keeps the other sections of bench.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_deep
import bench_engine


def test_bench_deep_writes_its_section_and_keeps_the_rest(tmp_path, capsys):
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"schema": "theorem-check/bench", "rows": [{"engine": "engine"}]}))
    assert bench_deep.main(["--quick", "--widths", "64", "--families", "fc,cnn_resnet", "--device", "cpu", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["rows"] == [{"engine": "engine"}]  # the two-layer engine's rows are kept
    deep = data["deep"]
    engines = {r["engine"] for r in deep["rows"]}
    assert engines == {"naive", "batched", "ntk_loop", "ntk_vmap", "ntk_layerwise"}
    for c in deep["checks"]:
        for key in ("max_rel_loss_diff", "ntk_max_rel_diff", "ntk_layerwise_max_rel_diff"):
            assert c.get(key, 0.0) < 1e-10, (key, c)
    assert any("ntk_layerwise_max_rel_diff" in c for c in deep["checks"])
    # the naive cnn_resnet is a user's nn.Conv1d module: its losses agree with train_deep's (the check above)
    assert {c["family"] for c in deep["checks"] if "max_rel_loss_diff" in c} == {"fc", "cnn_resnet"}
    batched = [r for r in deep["rows"] if r["engine"] == "batched"]
    assert all(r["chunk_trials"] >= 1 and "at once" in r["chunking"] for r in batched)
    assert "wrote the 'deep' section" in capsys.readouterr().out


def test_bench_engine_times_v1_beside_today_with_rooflines(tmp_path, capsys):
    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"schema": "theorem-check/bench", "deep": {"rows": [1]}}))
    assert bench_engine.main(["--quick", "--widths", "100", "--device", "cpu", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["deep"] == {"rows": [1]}  # the deep section is kept
    engines = [r["engine"] for r in data["rows"]]
    assert engines == ["naive", "engine@v1", "engine@v1+record", "engine", "engine+record"]
    assert data["peaks"]["cpu"]["copy"]["gbytes_per_s"] > 0
    for r in data["rows"]:
        assert 0 < r["roofline_fraction"] <= 1.0 and r["roofline_bound"] in ("compute", "memory")
        assert r["bytes_per_trial_step"] > 0
    for r in data["rows"][1:]:
        assert r["speedup_vs_v1"] > 0
    (check,) = data["checks"]
    assert check["max_rel_loss_diff"] < 1e-10 and check["max_diff_vs_v1_records"] < 1e-10
    assert "roofline" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--widths", "65"], ["--families", "lstm"], ["--widths", "a,b"]])
def test_bench_deep_rejects_bad_arguments(tmp_path, args):
    assert bench_deep.main(["--quick", "--out", str(tmp_path / "b.json"), *args]) == 2
    assert not (tmp_path / "b.json").exists()


def test_gpu_check_script_says_so_without_cuda():
    import subprocess
    from pathlib import Path

    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the script would run the whole check")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"
    plain = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0 and "no CUDA device here" in plain.stdout
    strict = subprocess.run(["bash", str(script), "--require-gpu"], capture_output=True, text=True, timeout=120)
    assert strict.returncode == 2 and "no CUDA device here" in strict.stdout
    bad = subprocess.run(["bash", str(script), "--nonsense"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown argument" in bad.stderr


def test_bench_compile_writes_its_section_and_keeps_the_rest(tmp_path, capsys):
    """The plumbing, with the 'eager' backend (no code generation, so no compiler and no minute of compile)."""
    import bench_compile

    out = tmp_path / "bench.json"
    out.write_text(json.dumps({"schema": "theorem-check/bench", "rows": [{"engine": "engine"}]}))
    assert bench_compile.main(["--backend", "eager", "--steps", "3", "--repeats", "1", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["rows"] == [{"engine": "engine"}]
    sec = data["compile"]
    assert [r["shape"] for r in sec["rows"]] == ["A", "B", "C"] and sec["backend"] == "eager"
    assert all(r["eager_ms_per_step"] > 0 and r["compiled_ms_per_step"] > 0 for r in sec["rows"])
    assert all(c["max_rel_loss_diff"] < 1e-12 for c in sec["checks"])  # compiled and eager steps agree
    assert "wrote the 'compile' section" in capsys.readouterr().out
    assert bench_compile.main(["--steps", "0", "--out", str(tmp_path / "x.json")]) == 2
    assert not (tmp_path / "x.json").exists()
