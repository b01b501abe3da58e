"""harness.history: the JSON-lines store under concurrent writers (multiprocessing), cut lines,
dedupe, the trend page, ``python -m harness history`` and the plugin's append at session end."""

from __future__ import annotations

import copy
import json
import multiprocessing
import re
import time
from pathlib import Path

import pytest

from harness.tools.cli import main
from harness.tools.history import HistoryError, append_run, read_history, render_history_html, run_id, run_record


def make_result(cid: str, verdict: str = "confirmed", *, seconds: float = 0.5, exponent: float = 0.5, threshold: float = 256.0) -> dict:
    from harness.contract.claim import ClaimInfo, ClaimRun, Evidence, _result
    from harness.contract.papers import DZPS

    run = ClaimRun(ClaimInfo(id=cid, paper=DZPS, theorem="T", statement="-"))
    ev = Evidence({"x": 1})
    ev.status = "passed"
    ev.margin(0.4, "observed / allowed")
    ev.figure("exponent: drift", exponent, predicted=-0.5, interval=(exponent - 0.1, exponent + 0.1))
    ev.figure("threshold width", threshold)
    ev.figure("curve", [1.0, 2.0])  # not a number: not kept
    run.add(ev)
    return _result(run, verdict, None, seconds, "quick")


def make_report(n_claims: int = 3, *, profile: str = "quick", **kw) -> dict:
    from harness.runtime.devices import RunSettings
    from harness.report import build_report

    claims = [make_result(f"t.c{i:03d}", **kw) for i in range(n_claims)]
    return build_report(claims, profile=profile, settings=RunSettings(), started=time.time(), root=".", argv=["pytest"], workers=0)


def variant(report: dict, tag: str, *, exponent: float | None = None, verdict: str | None = None) -> dict:
    r = copy.deepcopy(report)
    r["created"] = f"2026-01-{tag}"
    for c in r["claims"]:
        if exponent is not None:
            f = c["representative"]["figures"]["exponent: drift"]
            f["measured"], f["interval"] = exponent, [exponent - 0.1, exponent + 0.1]
        if verdict is not None:
            c["verdict"] = verdict
            c["as_expected"] = verdict == c["expected"]
    return r


def test_record_keeps_numbers_and_dedupes(tmp_path):
    rep = make_report(2)
    rec = run_record(rep, source="x")
    c = rec["claims"]["t.c000"]
    assert c["verdict"] == "confirmed" and c["seconds"] == 0.5 and c["margin"] == 0.4
    assert c["figures"] == {"exponent: drift": {"m": 0.5, "lo": 0.4, "hi": 0.6, "p": -0.5}, "threshold width": {"m": 256.0}}
    assert rec["run_id"] == run_id(json.loads(json.dumps(rep)))  # the same after a JSON round trip
    store = tmp_path / "deep" / "history.jsonl"
    assert append_run(store, rep) is True
    assert append_run(store, json.loads(json.dumps(rep))) is False  # the same run again: skipped
    assert append_run(store, variant(rep, "02")) is True
    records, warnings = read_history(store)
    assert [r["created"] for r in records] == [rep["created"], "2026-01-02"] and warnings == []


def _writer(store: str, base: dict, k: int, n: int) -> None:
    for i in range(n):
        append_run(store, variant(base, f"{k:02d}T{i:03d}"))  # this writer's own runs
        append_run(store, variant(base, f"shared{i:03d}"))  # runs every writer tries to add


def test_concurrent_writers_lose_and_tear_nothing(tmp_path):
    try:
        ctx = multiprocessing.get_context("fork")
    except ValueError:  # pragma: no cover - no fork on this platform
        pytest.skip("needs fork")
    base = make_report(40)  # ~20 kB a line: far above the 4 kB that a plain write keeps whole
    assert len(json.dumps(run_record(base))) > 8000
    store = str(tmp_path / "history.jsonl")
    writers, per = 6, 12
    procs = [ctx.Process(target=_writer, args=(store, base, k, per)) for k in range(writers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    records, warnings = read_history(store)
    assert warnings == []  # no torn or interleaved line
    created = sorted(r["created"] for r in records)
    # every writer's runs, and each shared run exactly once (the dedupe check and the append
    # happen under one lock)
    assert created == sorted([f"2026-01-{k:02d}T{i:03d}" for k in range(writers) for i in range(per)]
                             + [f"2026-01-shared{i:03d}" for i in range(per)])
    assert Path(store).read_bytes().count(b"\n") == (writers + 1) * per
    assert all(len(r["claims"]) == 40 for r in records)


def test_a_cut_line_is_skipped_and_the_next_write_starts_fresh(tmp_path):
    store = tmp_path / "history.jsonl"
    rep = make_report(1)
    append_run(store, rep)
    with open(store, "ab") as f:  # a writer killed in the middle of its line
        f.write(b'{"schema": "theorem-check/history", "run_id": "cut')
    append_run(store, variant(rep, "03"))
    records, warnings = read_history(store)
    assert len(records) == 2
    assert len(warnings) == 1 and ":2: not a JSON line" in warnings[0]
    with pytest.raises(HistoryError, match="no history store"):
        read_history(tmp_path / "none.jsonl")


def test_trend_page_has_one_chart_per_figure(tmp_path):
    base = make_report(2)
    records = [run_record(variant(base, f"{i:02d}", exponent=0.5 + 0.1 * i, verdict="falsified" if i == 2 else None)) for i in range(1, 5)]
    records.append(run_record(variant(make_report(1, profile="nightly"), "09")))
    page = render_history_html(records, profile="quick", store="h.jsonl")
    assert "theorem-check history: profile quick" in page
    assert "profiles in the store: nightly, quick" in page
    cards = re.findall(r'<div class="card" id="([^"]+)">(.*?)</div></div>', page, flags=re.S)
    assert [cid for cid, _ in cards] == ["t.c000", "t.c001"]
    for _, body in cards:
        titles = re.findall(r'font-weight="600">([^<]+)</text>', body)
        # the verdict strip, then seconds, margin and one chart per numeric figure
        assert titles == ["verdict per run", "seconds", "worst margin (&lt;= 1 inside the bound)", "exponent: drift", "threshold width"]
        charts = body.split("<svg")[1:]
        assert charts[0].count("<rect") == 4  # one square per run
        assert charts[0].count('stroke="#ff9f0a"') == 1  # the unexpected (falsified) run framed
        exp = charts[3]
        assert exp.count("<circle") == 4 and exp.count("stroke-dasharray") == 1  # 4 runs, the prediction
        assert exp.count('stroke="#888"') == 4  # an interval bar per run
        assert "0.8 [0.7, 0.9]" in exp  # the newest value in its tooltip
    # --last keeps the newest runs
    assert render_history_html(records, profile="quick", last=2).split('<div class="card"')[1].split("<svg")[1].count("<rect") == 2


def test_cli_history_add_and_render(tmp_path, capsys):
    store = tmp_path / "reports" / "history.jsonl"
    runs = []
    for i, exp in enumerate((0.5, 0.6)):
        d = tmp_path / f"run{i}"
        d.mkdir()
        (d / "report.json").write_text(json.dumps(variant(make_report(2), f"0{i + 1}", exponent=exp)))
        runs.append(str(d))
    assert main(["history", "--store", str(store), "--add", *runs]) == 0
    out = capsys.readouterr().out
    assert out.count("added:") == 2 and "2 run(s) of profile quick" in out
    page = (tmp_path / "reports" / "history.html").read_text()
    assert page.count("<svg") == 2 * 5
    assert main(["history", "--store", str(store), "--add", runs[0], "--out", str(tmp_path / "h.html")]) == 0
    assert "already in the store" in capsys.readouterr().out
    assert (tmp_path / "h.html").exists()
    # a foreign report is refused before the store is touched
    before = store.read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "other"}')
    assert main(["history", "--store", str(store), "--add", runs[1], str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert store.read_bytes() == before
    assert main(["history", "--store", str(store), "--profile", "nightly"]) == 2
    assert "no runs of profile nightly" in capsys.readouterr().err
    assert main(["history", "--store", str(tmp_path / "nope.jsonl")]) == 2
    assert "no history store" in capsys.readouterr().err


CLAIM = '''
from hypothesis import given, strategies as st
from harness import claim, evidence
from harness.contract.papers import DZPS


@claim(id="h.square", paper=DZPS, theorem="T1", statement="x * x >= 0")
@given(x=st.integers(-5, 5))
def test_square(x):
    evidence().figure("x^2", float(x * x))
    assert x * x >= 0
'''


def test_plugin_appends_each_run(pytester: pytest.Pytester):
    pytester.makepyfile(test_h=CLAIM)
    for _ in range(2):
        pytester.runpytest("-p", "no:cacheprovider", "-p", "no:benchmark").assert_outcomes(passed=1)
    records, _ = read_history(pytester.path / "reports" / "history.jsonl")
    assert len(records) == 2 and records[0]["run_id"] != records[1]["run_id"]
    assert records[1]["claims"]["h.square"]["verdict"] == "confirmed"
    assert records[1]["source"].endswith(str(Path("reports") / "runs" / Path(records[1]["source"]).name))
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:benchmark", "--claims-no-history")
    pytester.runpytest("-p", "no:cacheprovider", "-p", "no:benchmark", "--claims-history", "elsewhere/h.jsonl")
    assert len(read_history(pytester.path / "reports" / "history.jsonl")[0]) == 2
    assert len(read_history(pytester.path / "elsewhere" / "h.jsonl")[0]) == 1
