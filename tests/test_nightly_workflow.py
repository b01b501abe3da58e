""".github/workflows/nightly.yml, run here: its shape, and its shell steps replayed on the CPU.

No GPU runner is at hand, so the workflow's own ``run:`` scripts are executed in order by bash, the
way a runner does (``bash --noprofile --norc -eo pipefail``), on a small claims directory, with three
stand-ins: a fake ``nvidia-smi`` that lists two GPUs, ``--device=cuda`` read as ``--device=cpu``, and
the artifact upload/download done by copying files. Everything else -- the pytest-split sharding, the
merge, the comparison with the baseline and its exit status, the step summary, the history page, the
collected site and the final "fail on a regression" step -- is the workflow's own text.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is a dev dependency: pip install -e .[dev]")

from harness.tools.cli import build_parser  # noqa: E402

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "nightly.yml"

TOY_CLAIMS = '''
import torch
from hypothesis import given, strategies as st

from harness import claim, evidence, trial_generators
from harness.contract.papers import DZPS


def _draw(cid, k):
    return float(torch.randn(1, generator=trial_generators(cid, k, 1)[0], dtype=torch.float64))


@claim(id="wf.bounded", paper=DZPS, theorem="B", statement="a draw of |z| stays below 6")
@given(k=st.integers(0, 20))
def test_bounded(k):
    z = abs(_draw("wf.bounded", k))
    evidence().figure("|z|", z, predicted="< 6")
    assert z < 6


@claim(id="wf.control", paper=DZPS, theorem="C", statement="(planted) a draw is below 1", expect="falsified",
       control_of="wf.bounded")
@given(k=st.integers(0, 50))
def test_control(k):
    assert _draw("wf.control", k) < 1.0


@claim(id="wf.identity", paper=DZPS, theorem="I", statement="x + 0 == x", quantifier="identity")
@given(x=st.integers())
def test_identity(x):
    assert x + 0 == x


@claim(id="wf.square", paper=DZPS, theorem="S", statement="x * x >= 0")
@given(x=st.integers())
def test_square(x):
    assert x * x >= 0
'''


def _load() -> dict:
    wf = yaml.safe_load(WORKFLOW.read_text())
    wf["on"] = wf.pop(True, wf.get("on"))  # YAML 1.1 reads the key `on` as true
    return wf


def _commands(script: str) -> list[list[str]]:
    """The ``python -m harness ...`` command lines of a run script, continuation lines joined."""
    joined = script.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        m = re.search(r"python -m harness (.*?)(?:\||$)", line)
        if m:
            words = shlex.split(m.group(1))
            out.append([w if not w.startswith("$") else "quick" for w in words])
    return out


def test_workflow_shape():
    wf = _load()
    assert "schedule" in wf["on"] and "workflow_dispatch" in wf["on"]
    claims, report = wf["jobs"]["claims"], wf["jobs"]["report"]
    splits = int(wf["env"]["SPLITS"])
    assert claims["strategy"]["matrix"]["group"] == list(range(1, splits + 1)), "SPLITS and the matrix must agree"
    assert claims["strategy"]["fail-fast"] is False  # one shard failing must not cancel the others
    assert report["needs"] == "claims"
    assert "gpu" in claims["runs-on"]
    run = "\n".join(s.get("run", "") for s in claims["steps"])
    assert '--splits "$SPLITS" --group "${{ matrix.group }}"' in run
    assert "--device=cuda" in run and "nvidia-smi -L" in run
    names = [s.get("name", s.get("uses", "")) for s in report["steps"]]
    assert names.index("merge the shards (every claim once; a lost shard is an error)") < names.index("compare with the baseline")
    assert names[-1] == "fail on a regression"


def test_every_harness_command_of_the_workflow_parses():
    parser = build_parser()
    wf = _load()
    seen = set()
    for job in wf["jobs"].values():
        for step in job["steps"]:
            for words in _commands(step.get("run", "")):
                parser.parse_args(words)  # SystemExit on an unknown subcommand or option
                seen.add(words[0])
    assert seen == {"merge", "report", "history"}


# ---------------------------------------------------------------------------------------------
# the steps replayed
# ---------------------------------------------------------------------------------------------


class Runner:
    """Runs a job's ``run:`` steps with GitHub's shell, its expressions substituted, in ``root``."""

    def __init__(self, root: Path, env: dict[str, str]):
        self.root = root
        self.env = env
        self.outputs: dict[str, dict[str, str]] = {}

    def expand(self, text: str, matrix: dict) -> str:
        def sub(m: re.Match) -> str:
            expr = m.group(1).strip()
            if expr.startswith("matrix."):
                return str(matrix[expr.split(".", 1)[1]])
            if expr.startswith("steps.") and expr.endswith(".outputs.status"):
                return self.outputs.get(expr.split(".")[1], {}).get("status", "")
            raise AssertionError(f"the replay does not know the expression {expr!r}")

        return re.sub(r"\$\{\{(.*?)\}\}", sub, text)

    def condition(self, step: dict, matrix: dict, failed: bool) -> bool:
        cond = step.get("if")
        if cond is None:
            return not failed
        cond = cond.strip()
        if cond.startswith("${{") and cond.endswith("}}"):
            cond = cond[3:-2].strip()
        if cond == "always()":
            return True
        m = re.fullmatch(r"steps\.(\w+)\.outputs\.status != '0'", cond)
        assert m, f"the replay does not know the condition {cond!r}"
        return not failed and self.outputs.get(m.group(1), {}).get("status") != "0"

    def run_job(self, job: dict, matrix: dict | None = None, skip_names: tuple[str, ...] = ("install",)) -> list[tuple[str, int, str]]:
        matrix = matrix or {}
        results, failed = [], False
        for step in job["steps"]:
            if "run" not in step or step.get("name") in skip_names or not self.condition(step, matrix, failed):
                continue
            script = self.expand(step["run"], matrix).replace("--device=cuda", "--device=cpu")
            out_file = self.root / f".gh_output_{len(results)}"
            out_file.write_text("")
            env = {**self.env, "GITHUB_OUTPUT": str(out_file)}
            proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=self.root, env=env,
                                  capture_output=True, text=True, timeout=600)
            if step.get("id"):
                self.outputs[step["id"]] = dict(line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line)
            results.append((step.get("name", ""), proc.returncode, proc.stdout + proc.stderr))
            failed = failed or proc.returncode != 0
        return results


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    pytest.importorskip("pytest_split", reason="pytest-split is a dev dependency: pip install -e .[dev]")
    root = tmp_path / "checkout"
    (root / "claims").mkdir(parents=True)
    (root / "claims" / "test_toy_claims.py").write_text(TOY_CLAIMS)
    venv = root / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "activate").write_text("# the test's interpreter is already the environment\n")
    fake = tmp_path / "fakebin"
    fake.mkdir()
    smi = fake / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: Fake H200 (UUID: GPU-0)'\necho 'GPU 1: Fake H200 (UUID: GPU-1)'\n")
    smi.chmod(0o755)
    # A wrapper, not a symlink: a symlink to a venv's interpreter loses the venv (Python finds
    # pyvenv.cfg next to the path it was started by), and with it pytest-xdist and pytest-split.
    py = fake / "python"
    py.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    py.chmod(0o755)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GITHUB_"))},
        "PATH": f"{fake}{os.pathsep}{os.environ.get('PATH', '')}",
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    wf = _load()
    env.update({k: str(v) for k, v in wf["env"].items()})
    env["PROFILE"] = "quick"  # the nightly profile's sizes are for the GPU; the steps are the same
    env["CLAIMS_SEED"] = "20261206"  # ${{ inputs.seed || github.run_id }} on GitHub
    return root, env


def _claims_shards(root: Path, env: dict[str, str], runner: Runner) -> None:
    wf = _load()
    for group in wf["jobs"]["claims"]["strategy"]["matrix"]["group"]:
        shutil.rmtree(root / "reports" / "latest", ignore_errors=True)
        results = runner.run_job(wf["jobs"]["claims"], {"group": group})
        for name, rc, out in results:
            assert rc == 0, f"claims step {name!r} of group {group} failed:\n{out[-3000:]}"
        # actions/upload-artifact + download-artifact: shard-<g>/report.json -> shards/shard-<g>/report.json
        dest = root / "shards" / f"shard-{group}"
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / f"shard-{group}" / "report.json", dest / "report.json")


def test_the_workflow_steps_run_compare_and_alert(repo):
    root, env = repo
    wf = _load()
    runner = Runner(root, env)
    _claims_shards(root, env, runner)
    shard_ids = [{c["id"] for c in json.loads((root / "shards" / f"shard-{g}" / "report.json").read_text())["claims"]} for g in (1, 2)]
    assert all(shard_ids) and not (shard_ids[0] & shard_ids[1])  # really split

    # first night: no baseline yet -> the comparison is an error (status 2) and the run fails
    first = runner.run_job(wf["jobs"]["report"])
    by_name = {name: (rc, out) for name, rc, out in first}
    assert by_name["merge the shards (every claim once; a lost shard is an error)"][0] == 0
    assert runner.outputs["compare"]["status"] == "2"
    assert by_name["fail on a regression"][0] == 1
    merged = json.loads((root / "reports" / "latest" / "report.json").read_text())
    assert {c["id"] for c in merged["claims"]} == {"wf.bounded", "wf.control", "wf.identity", "wf.square"}
    assert merged["summary"]["as_expected"] == 4
    assert merged["search"]["seed"] == 20261206, "both shards ran under the night's run seed"

    # the documented refresh of the baseline, then a quiet night: status 0, nothing fails
    subprocess.run([sys.executable, "-m", "harness", "baseline", "reports/latest"], cwd=root, env=env, check=True, capture_output=True)
    assert (root / "reports" / "baseline" / "quick" / "report.json").is_file()
    quiet = {name: (rc, out) for name, rc, out in runner.run_job(wf["jobs"]["report"])}
    assert runner.outputs["compare"]["status"] == "0"
    assert "fail on a regression" not in quiet and all(rc == 0 for rc, _ in quiet.values())
    site = root / "site"
    assert (site / "report.html").is_file() and (site / "history.html").is_file()
    assert "```" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    history = (root / "reports" / "history.jsonl").read_text().splitlines()
    assert len(history) >= 2  # each merge appended its run

    # a regression: wf.square, confirmed in the baseline, comes back falsified from its shard
    shard = next(root / "shards" / f"shard-{g}" / "report.json" for g in (1, 2)
                 if "wf.square" in {c["id"] for c in json.loads((root / "shards" / f"shard-{g}" / "report.json").read_text())["claims"]})
    data = json.loads(shard.read_text())
    for c in data["claims"]:
        if c["id"] == "wf.square":
            c["verdict"], c["as_expected"] = "falsified", False
    shard.write_text(json.dumps(data))
    night = {name: (rc, out) for name, rc, out in runner.run_job(wf["jobs"]["report"])}
    assert runner.outputs["compare"]["status"] == "1"
    assert "wf.square" in night["compare with the baseline"][1]
    assert night["fail on a regression"][0] == 1
    assert (root / "site" / "report.html").is_file()  # published even on a regression
