"""The theory-against-practice table (harness.report.table and ``python -m harness table``)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from harness.tools.cli import main
from harness.report.table import COLUMNS, quantitative_rows, render_table

PAPER = {"key": "dzps2018", "authors": "Du, Zhai, Poczos, Singh", "year": 2018, "arxiv": "1810.02054"}


def _claim(cid, *, expected="confirmed", margins=(), figures=None, worst=None, theorem="Theorem 4.1", predicate="L(k) <= bound"):
    return {
        "id": cid,
        "info": {"paper": PAPER, "theorem": theorem, "predicate": predicate, "statement": "s"},
        "verdict": expected,
        "expected": expected,
        "as_expected": True,
        "examples_tried": len(margins) or 1,
        "margin": {"value": worst, "description": "max ratio"},
        "examples": [{"status": "passed", "margin": m} for m in margins],
        "representative": {"figures": figures or {}},
        "sizes_covered": {"n": [8.0, 20.0], "m": [64.0, 4096.0]},
    }


def _report() -> dict:
    return {
        "schema": "theorem-check/report", "schema_version": 1, "created": "2026-12-06T00:00:00+00:00",
        "environment": {"device": "cpu"}, "summary": {"claims": 4}, "profile": {"name": "quick"}, "search": {"seed": 3},
        "claims": [
            _claim("t.rate", margins=(0.2, 0.4, 0.6), worst=0.6, predicate="L(k) <= (1 - eta lambda_0/2)^k L(0) & 100% of seeds"),
            _claim("t.exponent", figures={
                "final loss": {"measured": 1e-9},
                "exponent: drift vs m": {"measured": -0.48, "predicted": -0.5, "interval": [-0.55, -0.41]},
            }),
            _claim("t.qualitative"),  # no margin, no figure: not in the table
            _claim("t.control", expected="falsified", margins=(3.0,), worst=3.0),
        ],
    }


def test_rows_are_the_quantitative_claims_with_worst_and_median_margins():
    rows = quantitative_rows(_report())
    assert [r["id"] for r in rows] == ["t.rate", "t.exponent"], "qualitative claims and controls are left out"
    rate, expo = rows
    assert (rate["worst_margin"], rate["median_margin"]) == (0.6, 0.4)
    assert expo["figure"] == "exponent: drift vs m", "the exponent with a prediction is the headline figure"
    assert (expo["measured"], expo["predicted"], expo["interval"]) == (-0.48, -0.5, [-0.55, -0.41])
    assert rate["citation"] == "Du, Zhai, Poczos, Singh 2018, Theorem 4.1"
    assert [r["id"] for r in quantitative_rows(_report(), controls=True)][-1] == "t.control"


def test_markdown_and_csv_parse_back():
    rows = quantitative_rows(_report())
    md = render_table(rows, "md").strip().splitlines()
    assert md[0] == "| " + " | ".join(COLUMNS) + " |"
    assert len(md) == 2 + len(rows)
    assert all(line.count(" | ") + 2 == len(COLUMNS) + 1 for line in md if not line.startswith("|---")), "a cell broke the columns"
    back = list(csv.DictReader(io.StringIO(render_table(rows, "csv"))))
    assert [r["claim"] for r in back] == ["t.rate", "t.exponent"]
    assert back[0]["worst margin"] == "0.6" and back[0]["median margin"] == "0.4"
    assert back[1]["predicted"] == "-0.5" and back[1]["interval"] == "[-0.55, -0.41]"
    assert back[0]["bound"].startswith("L(k) <= (1 - eta lambda_0/2)^k")


def test_latex_has_balanced_environments_and_escapes():
    tex = render_table(quantitative_rows(_report()), "latex")
    for env in ("table", "tabular"):
        assert tex.count(f"\\begin{{{env}}}") == tex.count(f"\\end{{{env}}}") == 1
    assert "\\toprule" in tex and "\\midrule" in tex and "\\bottomrule" in tex
    assert "t.exponent" in tex and "arXiv:1810.02054" in tex
    body = tex.split("\\midrule")[1].split("\\bottomrule")[0]
    assert not re.search(r"(?<!\\)[_&%#]", body.replace(" & ", " ")), "unescaped LaTeX specials in the rows"
    rows = [line for line in body.strip().splitlines() if line.endswith("\\\\")]
    assert all(line.count(" & ") == 9 for line in rows), "every row has the 10 columns of the tabular"
    with pytest.raises(ValueError, match="format"):
        render_table([], "xlsx")


def test_table_command(tmp_path: Path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "report.json").write_text(json.dumps(_report()))
    assert main(["table", str(run), "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert out.count("\\begin{tabular}") == 1 and "run seed 3" in out
    assert main(["table", str(run), "--format", "csv", "--out", str(tmp_path / "t.csv")]) == 0
    assert (tmp_path / "t.csv").read_text().startswith("claim,citation")
    empty = _report()
    empty["claims"] = [empty["claims"][2]]
    (run / "report.json").write_text(json.dumps(empty))
    assert main(["table", str(run)]) == 2
    assert "no quantitative claim" in capsys.readouterr().err


def test_the_report_groups_claims_by_paper_with_twins_beside_their_claim():
    from harness.report.text import by_paper

    other = {"key": "other", "authors": "Other", "year": 2020}

    def c(cid, paper, expected="confirmed", control_of="", verdict=None, n=5):
        return {"id": cid, "info": {"paper": paper, "control_of": control_of}, "expected": expected,
                "verdict": verdict or expected, "as_expected": verdict in (None, expected), "examples_tried": n}

    claims = [
        c("a.twin_of_b", PAPER, "falsified", "a.b"),
        c("x.one", other, n=500),
        c("a.a", PAPER),
        c("a.b", PAPER, verdict="inconclusive"),
        c("a.twin_of_a", PAPER, "falsified", "a.a"),
        c("a.orphan_control", PAPER, "falsified", "elsewhere"),
    ]
    groups = by_paper(claims)
    assert [g["paper"]["key"] for g in groups] == ["dzps2018", "other"], "papers in order of first appearance"
    assert [x["id"] for x in groups[0]["claims"]] == ["a.a", "a.twin_of_a", "a.b", "a.twin_of_b", "a.orphan_control"]
    g = groups[0]
    assert g["verdicts"] == {"confirmed": 1, "falsified": 3, "inconclusive": 1}
    assert (g["as_expected"], g["controls"]) == (4, 3)
    assert groups[1]["strength"] == {"broad": 1} and groups[0]["strength"] == {"thin": 5}


def test_findings_list_claims_with_a_finding_and_the_falsification_behind_it():
    from harness.report.table import findings, findings_markdown

    rep = _report()
    law = rep["claims"][1]
    law["info"]["finding"] = "m* grows like n^0.3, not n^6"
    twin = _claim("t.twin_n6", expected="falsified")
    twin["info"]["control_of"] = "t.exponent"
    twin["replay"] = "pytest 'claims/x.py::test_twin' --claims-seed=0"
    rep["claims"].append(twin)
    (f,) = findings(rep)
    assert f["id"] == "t.exponent" and f["twins"] == [{"id": "t.twin_n6", "verdict": "falsified", "as_expected": True}]
    assert f["replay_of"] == "t.twin_n6" and f["replay"].endswith("--claims-seed=0")
    assert f["figure"]["name"] == "exponent: drift vs m"
    md = "\n".join(findings_markdown(rep))
    assert "m* grows like n^0.3, not n^6" in md and "--claims-seed=0" in md and "[-0.55, -0.41]" in md
    assert findings_markdown(_report()) == [], "no finding, no section"
