"""The pytest plugin, end to end, through pytester (each run in a subprocess: clean imports).

A planted false claim must be falsified and shrunk; a true one confirmed; negative controls
invert; reports are complete under -n 2; bad options give clear errors, not tracebacks.
"""

from __future__ import annotations

import json
import os

import pytest

CLAIMS = '''
from hypothesis import given, strategies as st
from harness import claim, evidence, undecided
from harness.contract.papers import DZPS


@claim(id="t.true_claim", paper=DZPS, theorem="T1", statement="x * x >= 0 for every integer x")
@given(x=st.integers(-1000, 1000))
def test_true(x):
    ev = evidence()
    ev.size(n=abs(x))
    ev.figure("x^2", x * x, predicted=">= 0")
    ev.margin(0.5, "constant")
    ev.plot("p", [{"label": "x", "x": [0, 1], "y": [0, x * x], "style": "line"}])
    assert x * x >= 0


@claim(id="t.false_claim", paper=DZPS, theorem="T2", statement="(false) every integer is below 100")
@given(x=st.integers(0, 10_000))
def test_false(x):
    evidence().size(n=x)
    assert x < 100, f"x={x} is not below 100"


@claim(id="t.control_ok", paper=DZPS, theorem="T3", statement="(planted) every integer is even",
       expect="falsified", control_of="t.true_claim")
@given(x=st.integers(0, 1000))
def test_control_ok(x):
    assert x % 2 == 0


@claim(id="t.control_powerless", paper=DZPS, theorem="T4", statement="(planted) integers are integers",
       expect="falsified", control_of="t.true_claim")
@given(x=st.integers(0, 10))
def test_control_powerless(x):
    assert isinstance(x, int)


@claim(id="t.undecided", paper=DZPS, theorem="T5", statement="a statistic that never decides")
@given(x=st.integers(0, 10))
def test_undecided(x):
    undecided("needs 1000 more seeds")


@claim(id="t.error", paper=DZPS, theorem="T6", statement="a claim with a bug in its body")
@given(x=st.integers(0, 10))
def test_error(x):
    raise RuntimeError("bug in the claim")
'''


@pytest.fixture
def claims_dir(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_claims=CLAIMS)
    return pytester


def _report(pytester: pytest.Pytester) -> dict:
    path = pytester.path / "reports" / "latest" / "report.json"
    assert path.exists(), f"no report at {path}"
    return json.loads(path.read_text())


def _by_id(report: dict) -> dict:
    return {c["id"]: c for c in report["claims"]}


def test_verdicts_and_outcomes(claims_dir: pytest.Pytester) -> None:
    res = claims_dir.runpytest_subprocess("-p", "no:cacheprovider")
    # true: pass; false: fail; control falsified: pass; powerless control: fail; undecided: skip; error: fail
    res.assert_outcomes(passed=2, failed=3, skipped=1)
    out = res.stdout.str()
    assert "theorem-check: 6 claim(s), profile quick" in out
    assert "lacks power" in out
    claims = _by_id(_report(claims_dir))
    assert claims["t.true_claim"]["verdict"] == "confirmed"
    assert claims["t.true_claim"]["examples_tried"] >= 4
    assert claims["t.true_claim"]["plot_files"], "the representative example's plot was not rendered"
    assert claims["t.control_ok"]["verdict"] == "falsified" and claims["t.control_ok"]["as_expected"]
    assert claims["t.control_powerless"]["verdict"] == "confirmed" and not claims["t.control_powerless"]["as_expected"]
    assert claims["t.undecided"]["verdict"] == "inconclusive"
    assert "needs 1000 more seeds" in claims["t.undecided"]["inconclusive_reason"]
    assert claims["t.error"]["verdict"] == "error" and claims["t.error"]["error"].startswith("RuntimeError: bug in the claim")
    err_line = next(line for line in out.splitlines() if "t.error" in line and line.startswith("ERROR"))
    assert "RuntimeError: bug in the claim" in err_line, "the terminal shows the exception, not Hypothesis's reproduce note"
    assert "UNEXPECTED  t.error" in err_line, "verdict columns must not run together"


def test_false_claim_is_falsified_and_shrunk(claims_dir: pytest.Pytester) -> None:
    claims_dir.runpytest_subprocess("-p", "no:cacheprovider", "-k", "false")
    c = _by_id(_report(claims_dir))["t.false_claim"]
    assert c["verdict"] == "falsified"
    ce = c["counterexample"]
    assert ce["args"] == {"x": 100}, f"not shrunk to the minimal counterexample: {ce['args']}"
    assert "x=100 is not below 100" in ce["message"]
    assert c["replay"].startswith("pytest 'test_claims.py::test_false' --claims-profile=quick")
    md = (claims_dir.path / "reports" / "latest" / "report.md").read_text()
    assert "Minimal counterexample" in md and "Replay:" in md


def test_replay_command_reproduces(claims_dir: pytest.Pytester) -> None:
    claims_dir.runpytest_subprocess("-p", "no:cacheprovider", "-k", "false")
    first = _by_id(_report(claims_dir))["t.false_claim"]["counterexample"]
    replay = first["replay"].split()
    args = [a.strip("'") for a in replay[1:]]
    claims_dir.runpytest_subprocess("-p", "no:cacheprovider", *args)
    again = _by_id(_report(claims_dir))["t.false_claim"]["counterexample"]
    assert again["args"] == first["args"]


def test_report_complete_under_xdist(claims_dir: pytest.Pytester) -> None:
    res = claims_dir.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    res.assert_outcomes(passed=2, failed=3, skipped=1)
    report = _report(claims_dir)
    assert sorted(_by_id(report)) == sorted(
        ["t.true_claim", "t.false_claim", "t.control_ok", "t.control_powerless", "t.undecided", "t.error"]
    )
    assert report["environment"]["xdist_workers"] == 2
    latest = claims_dir.path / "reports" / "latest"
    assert latest.is_symlink()
    for name in ("report.json", "report.md", "report.html"):
        assert (latest / name).exists()
    # no half-written run directories left behind
    assert not [p for p in (claims_dir.path / "reports" / "runs").iterdir() if p.name.startswith(".")]


def test_strict_makes_inconclusive_fail(claims_dir: pytest.Pytester) -> None:
    res = claims_dir.runpytest_subprocess("-p", "no:cacheprovider", "-k", "undecided", "--claims-strict")
    res.assert_outcomes(failed=1)
    res.stdout.fnmatch_lines(["*inconclusive claim under --claims-strict*"])


def test_ci_variable_does_not_change_the_profile(claims_dir: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    from harness.runtime.budget import write_costs

    costs = claims_dir.path / "costs.json"  # a cost that plans the quick profile's cap: a fixed count
    write_costs(costs, "quick", {"t.true_claim": 1e-4})
    claims_dir.runpytest_subprocess("-p", "no:cacheprovider", "-k", "true", f"--claims-costs={costs}")
    c = _by_id(_report(claims_dir))["t.true_claim"]
    assert c["profile"] == "quick"
    # Hypothesis's 'ci' profile runs 100 examples, derandomized; the quick profile's budget plans this
    # cheap claim at its cap (2000) and seeds generation from the run seed
    assert c["examples_tried"] == 2000, "Hypothesis's own 'ci' profile leaked into the run"
    assert c["search"]["planned_examples"] == 2000 and c["search"]["budget_s"] == 5.0 and c["search"]["mode"] == "costs"


def test_profile_option_changes_the_budget(claims_dir: pytest.Pytester) -> None:
    claims_dir.runpytest_subprocess("-p", "no:cacheprovider", "-k", "true", "--claims-profile=standard")
    c = _by_id(_report(claims_dir))["t.true_claim"]
    assert c["search"]["budget_s"] == 30.0 and c["search"]["min_examples"] == 12
    assert c["examples_tried"] >= 12


def test_no_report_option(claims_dir: pytest.Pytester) -> None:
    claims_dir.runpytest_subprocess("-p", "no:cacheprovider", "-k", "true", "--claims-no-report")
    assert not (claims_dir.path / "reports").exists()


@pytest.mark.skipif(os.environ.get("CUDA_VISIBLE_DEVICES") not in (None, ""), reason="checks the no-GPU message")
def test_cuda_without_gpu_is_a_clear_error(claims_dir: pytest.Pytester) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    res = claims_dir.runpytest_subprocess("--device=cuda")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    res.stderr.fnmatch_lines(["*--device=cuda was asked for*no CUDA device*"])
    assert "Traceback" not in res.stderr.str()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--device=tpu", "*--device='tpu' is not one of auto, cpu, cuda, cuda:N*"),
        ("--claims-profile=huge", "*invalid choice: 'huge'*"),
        ("--claims-dtype=float16", "*invalid choice: 'float16'*"),
    ],
)
def test_bad_options_are_clear_errors(claims_dir: pytest.Pytester, option: str, message: str) -> None:
    res = claims_dir.runpytest_subprocess(option)
    assert res.ret in (pytest.ExitCode.USAGE_ERROR, 4)
    res.stderr.fnmatch_lines([message])
    assert "Traceback" not in res.stderr.str()


def test_claim_decorator_needs_given() -> None:
    from harness import claim
    from harness.contract.papers import DZPS

    with pytest.raises(TypeError, match="on top of @given"):

        @claim(id="t.no_given", paper=DZPS, theorem="-", statement="-")
        def test_x() -> None:
            pass


def test_negative_control_must_name_its_claim() -> None:
    from harness import claim
    from harness.contract.papers import DZPS

    with pytest.raises(ValueError, match="control_of"):
        claim(id="t.bad_control", paper=DZPS, theorem="-", statement="-", expect="falsified")
