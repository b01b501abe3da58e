"""The theorem-check command line: list, report, profiles (in-process through main(), plus one
subprocess run of ``python -m harness``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from harness.tools.cli import main
from harness.runtime.profiles import PROFILES


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def _claims_dir(tmp_path: Path, tag: str, body: str | None = None) -> Path:
    d = tmp_path / "claims"
    d.mkdir()
    (d / f"test_tiny_{tag}.py").write_text(
        body
        if body is not None
        else textwrap.dedent(
            f"""
            from hypothesis import given, strategies as st

            from harness import claim, papers


            @claim(
                id="clitest{tag}.thm0.identity",
                paper=papers.DZPS,
                theorem="Theorem 0 (test)",
                statement="x + 0 == x",
                quantifier="identity",
            )
            @given(x=st.integers())
            def test_identity(x):
                assert x + 0 == x


            @claim(
                id="clitest{tag}.control.plus_one",
                paper=papers.DZPS,
                theorem="Theorem 0 (planted)",
                statement="x + 1 == x",
                quantifier="for_all",
                expect="falsified",
                control_of="clitest{tag}.thm0.identity",
            )
            @given(x=st.integers())
            def test_plus_one(x):
                assert x + 1 == x
            """
        )
    )
    return d


def _fake_result(claim_id: str, verdict: str = "confirmed") -> dict:
    """A result dict as harness.contract.claim._result produces it, with one plot."""
    from harness.contract.claim import ClaimInfo, ClaimRun, Evidence, _result
    from harness.contract.papers import DZPS

    info = ClaimInfo(id=claim_id, paper=DZPS, theorem="Theorem 0 (test)", statement="x + 0 == x", quantifier="identity")
    run = ClaimRun(info)
    ev = Evidence({"x": 3})
    ev.status = "passed"
    ev.margin(0.5, "observed / allowed")
    ev.size(n=3)
    ev.figure("value", measured=3.0, predicted=3.0, relation="==")
    ev.plot("loss", [{"label": "L", "x": [0, 1, 2], "y": [1.0, 0.5, 0.25], "style": "line"}], yscale="log")
    run.add(ev)
    return _result(run, verdict, None, 0.01, "quick")


def _write_report(path: Path, claims: list[dict]) -> Path:
    from harness.runtime.devices import RunSettings
    from harness.report import build_report

    rep = build_report(claims, profile="quick", settings=RunSettings(), started=time.time(), root=str(path), argv=["pytest"], workers=0)
    path.mkdir(parents=True, exist_ok=True)
    (path / "report.json").write_text(json.dumps(rep, indent=1))
    return path / "report.json"


# ------------------------------------------------------------------------------------------
# list
# ------------------------------------------------------------------------------------------


def test_list_table_and_json(tmp_path, capsys):
    tag = _tag()
    d = _claims_dir(tmp_path, tag)
    assert main(["list", "--claims-dir", str(d), "--reports-dir", str(tmp_path / "none")]) == 0
    out = capsys.readouterr().out
    assert f"clitest{tag}.thm0.identity" in out
    assert "Theorem 0 (test)" in out
    assert "identity" in out
    assert "du2018" in out
    assert "falsified (negative control)" in out
    assert "last verdict" not in out  # no report to read
    assert "2 claim(s) (1 negative control(s)) in 1 module(s)" in out

    assert main(["list", "--claims-dir", str(d), "--reports-dir", str(tmp_path / "none"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_id = {c["id"]: c for c in data["claims"]}
    assert set(by_id) == {f"clitest{tag}.thm0.identity", f"clitest{tag}.control.plus_one"}
    ctl = by_id[f"clitest{tag}.control.plus_one"]
    assert ctl["negative_control"]
    assert ctl["expect"] == "falsified"
    assert ctl["control_of"] == f"clitest{tag}.thm0.identity"
    assert ctl["paper"] == "du2018"
    assert ctl["last_verdict"] is None
    assert data["errors"] == []


def test_list_shows_last_verdict(tmp_path, capsys):
    tag = _tag()
    d = _claims_dir(tmp_path, tag)
    reports = tmp_path / "reports"
    _write_report(reports / "latest", [_fake_result(f"clitest{tag}.thm0.identity", "falsified")])
    assert main(["list", "--claims-dir", str(d), "--reports-dir", str(reports)]) == 0
    out = capsys.readouterr().out
    assert "last verdict" in out
    line = next(ln for ln in out.splitlines() if ln.startswith(f"clitest{tag}.thm0.identity"))
    assert "falsified (UNEXPECTED)" in line
    assert main(["list", "--claims-dir", str(d), "--reports-dir", str(reports), "--json"]) == 0
    by_id = {c["id"]: c for c in json.loads(capsys.readouterr().out)["claims"]}
    assert by_id[f"clitest{tag}.thm0.identity"]["last_verdict"] == "falsified"
    assert by_id[f"clitest{tag}.thm0.identity"]["last_as_expected"] is False
    assert by_id[f"clitest{tag}.control.plus_one"]["last_verdict"] is None


def test_list_import_error_names_the_file(tmp_path, capsys):
    tag = _tag()
    d = _claims_dir(tmp_path, tag, body="import harness\nraise RuntimeError('boom in claim module')\n")
    assert main(["list", "--claims-dir", str(d), "--reports-dir", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert f"test_tiny_{tag}.py" in err
    assert "RuntimeError: boom in claim module" in err
    assert "line 2" in err
    assert "Traceback" not in err


def test_list_missing_claims_dir(tmp_path, capsys):
    assert main(["list", "--claims-dir", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------


def test_report_rerenders_without_touching_report_json(tmp_path, capsys):
    tag = _tag()
    report_json = _write_report(tmp_path / "run", [_fake_result(f"clitest{tag}.thm0.identity")])
    before = report_json.read_bytes()
    assert main(["report", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert f"clitest{tag}.thm0.identity" in out
    assert "CONFIRMED" in out
    assert "1/1 as expected" in out
    run = tmp_path / "run"
    assert (run / "report.md").exists()
    assert (run / "report.html").exists()
    assert list((run / "plots").glob("*.png"))
    assert str(run / "report.md") in out
    assert str(run / "report.html") in out
    assert report_json.read_bytes() == before


def test_report_out_dir_and_format(tmp_path, capsys):
    tag = _tag()
    report_json = _write_report(tmp_path / "run", [_fake_result(f"clitest{tag}.thm0.identity")])
    out_dir = tmp_path / "elsewhere"
    assert main(["report", str(report_json), "--out", str(out_dir), "--format", "md"]) == 0
    capsys.readouterr()
    assert (out_dir / "report.md").exists()
    assert not (out_dir / "report.html").exists()
    assert not (out_dir / "report.json").exists()
    assert not (tmp_path / "run" / "report.md").exists()
    assert main(["report", str(report_json), "--format", "pdf"]) == 2
    assert "--format" in capsys.readouterr().err


def test_report_with_no_claims(tmp_path, capsys):
    _write_report(tmp_path / "run", [])
    assert main(["report", str(tmp_path / "run"), "--format", "md"]) == 0
    assert "no claims" in capsys.readouterr().out
    assert (tmp_path / "run" / "report.md").exists()


@pytest.mark.parametrize(
    ("content", "needle"),
    [("{not json", "not valid JSON"), ('{"schema": "someone-else"}', "not a theorem-check report"), (None, "no such report")],
)
def test_report_bad_file_is_a_clear_error(tmp_path, capsys, content, needle):
    bad = tmp_path / "broken" / "report.json"
    bad.parent.mkdir()
    if content is not None:
        bad.write_text(content)
    assert main(["report", str(bad)]) == 2
    cap = capsys.readouterr()
    assert str(bad) in cap.err
    assert needle in cap.err
    assert "Traceback" not in cap.err
    assert cap.out == ""
    assert not (bad.parent / "report.md").exists()


# ------------------------------------------------------------------------------------------
# profiles, help, entry point
# ------------------------------------------------------------------------------------------


def test_profiles(capsys):
    assert main(["profiles"]) == 0
    out = capsys.readouterr().out
    for name, p in PROFILES.items():
        assert name in out
        assert p.description in out
        assert ",".join(map(str, p.width_grid)) in out
    assert len(PROFILES) == 3


@pytest.mark.parametrize("cmd", [[], ["list"], ["report"], ["profiles"]])
def test_help(cmd, capsys):
    assert main([*cmd, "--help"]) == 0
    assert "usage: theorem-check" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["report"]) == 2  # RUN is required
    assert main(["no-such-command"]) == 2
    assert "usage" in capsys.readouterr().err


def test_python_dash_m_harness():
    proc = subprocess.run([sys.executable, "-m", "harness", "profiles"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert all(name in proc.stdout for name in PROFILES)
