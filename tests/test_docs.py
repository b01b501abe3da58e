"""docs/: the generated tables are in step with the code, and the generator finds stale ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.tools.cli import main
from harness.tools.docs import GENERATORS, sync_docs

ROOT = Path(__file__).resolve().parent.parent


def test_the_docs_tables_are_in_step_with_the_code():
    stale = sync_docs(ROOT / "docs", root=ROOT, check=True)
    assert not stale, f"stale generated blocks (run python -m harness docs): {stale}"


def test_every_generator_is_used_by_a_page():
    text = "".join(p.read_text() for p in (ROOT / "docs").rglob("*.md"))
    for name in GENERATORS:
        assert f"<!-- BEGIN generated: {name} -->" in text


def test_a_stale_block_is_found_then_rewritten(tmp_path, capsys):
    page = tmp_path / "p.md"
    page.write_text("intro\n<!-- BEGIN generated: profiles -->\nold table\n<!-- END generated: profiles -->\ntail\n")
    assert main(["docs", "--docs-dir", str(tmp_path), "--root", str(ROOT), "--check"]) == 1
    assert "stale" in capsys.readouterr().out
    assert "old table" in page.read_text()  # --check changes nothing
    assert main(["docs", "--docs-dir", str(tmp_path), "--root", str(ROOT)]) == 0
    text = page.read_text()
    assert "old table" not in text and "| quick |" in text and text.startswith("intro\n") and text.endswith("tail\n")
    assert main(["docs", "--docs-dir", str(tmp_path), "--root", str(ROOT), "--check"]) == 0


def test_an_unknown_block_is_an_error(tmp_path, capsys):
    (tmp_path / "p.md").write_text("<!-- BEGIN generated: nope -->\n<!-- END generated: nope -->\n")
    assert main(["docs", "--docs-dir", str(tmp_path), "--root", str(ROOT)]) == 2
    assert "unknown generated block 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("missing", ["nowhere"])
def test_a_missing_docs_dir_is_an_error(missing, capsys):
    assert main(["docs", "--docs-dir", missing]) == 2
    assert "no such docs directory" in capsys.readouterr().err


def test_the_adding_a_claim_example_runs_as_a_claim(pytester: pytest.Pytester):
    text = (ROOT / "docs" / "adding-a-claim.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    pytester.makepyfile(test_my_claim=code)
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--claims-costs=none", "--claims-budget=1", "--claims-db=none")
    res.assert_outcomes(passed=1)
    rep = json.loads((pytester.path / "reports" / "latest" / "report.json").read_text())
    (c,) = rep["claims"]
    assert c["id"] == "du2018.thm4.1.my_variant" and c["verdict"] == "confirmed"
