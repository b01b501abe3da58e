"""pytest plugin (loaded through the ``pytest11`` entry point when the package is installed).

Options: ``--claims-profile``, ``--claims-seed``, ``--claims-budget``, ``--claims-costs``,
``--claims-db``, ``--device``, ``--claims-dtype``, ``--claims-report-dir``,
``--claims-no-report``, ``--claims-strict``, ``--claims-history``, ``--claims-no-history``,
``--claims-no-gpu-pinning``. Claims record results into a per-item sink; the results travel to
the controller in ``report.user_properties`` (so they survive pytest-xdist), and only the
controller writes report files, atomically, at the end of the session, then appends the run to
the history store (``<report dir>/history.jsonl``).

Under ``pytest -n N`` with ``--device=auto|cuda`` each worker gets its own GPU: the controller
sends the visible GPU list to the workers, and a worker sets ``CUDA_VISIBLE_DEVICES`` to
``gpus[K % len(gpus)]`` (K from its id ``gwK``) first thing in ``pytest_configure``, before
anything starts CUDA. A claim test collected but without a result at the end (its worker was
killed, the session stopped early) is listed under ``missing`` in the report.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from .contract.claim import RESULT_SINK
from .runtime.devices import (
    DeviceError,
    RunSettings,
    configure_numerics,
    configure_threads,
    pin_worker_gpu,
    resolve_device,
    resolve_dtype,
    visible_gpus,
)
from .runtime.budget import CostsError, SearchSettings, load_costs
from .runtime.profiles import PROFILES, current_profile, set_profile
from .runtime.session import run_settings, search, set_run_settings, set_search

PROPERTY = "theorem_check"
GPUS_KEY = "theorem_check_gpus"  #: workerinput: the GPU list the controller hands out
COLLECTED_KEY = "theorem_check_collected"  #: workeroutput: {nodeid: claim id} a worker collected
_COLLECTOR = pytest.StashKey["ClaimsCollector"]()
_ITEM_RESULTS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("theorem-check", "theorem-check: executable claims of optimization theory")
    g.addoption(
        "--claims-profile",
        default=os.environ.get("THEOREM_CHECK_PROFILE", "quick"),
        choices=sorted(PROFILES),
        help="effort profile: sizes, examples and seeds (default: quick; env THEOREM_CHECK_PROFILE)",
    )
    g.addoption(
        "--claims-seed",
        default=os.environ.get("THEOREM_CHECK_SEED", "0"),
        help="run seed: enters every trial seed and Hypothesis's generation; another seed tries other "
        "examples, the same seed replays the run (default 0; env THEOREM_CHECK_SEED)",
    )
    g.addoption(
        "--claims-budget",
        default=None,
        metavar="SECONDS",
        help="seconds of search per claim, replacing the profile's (quick 5, standard 30, nightly 120) and the claims' own",
    )
    g.addoption(
        "--claims-costs",
        default=None,
        metavar="PATH|none",
        help="cost table that turns a budget into a fixed example count (default: claims/costs.json under the "
        "root dir, if present; none: every claim searches on the clock)",
    )
    g.addoption(
        "--claims-db",
        default=None,
        metavar="PATH|none",
        help="Hypothesis example database: failures found by one run are tried first by the next, whatever "
        "the seed (default: .hypothesis/theorem-check under the root dir; none: off)",
    )
    g.addoption("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto = cuda if available)")
    g.addoption("--claims-dtype", default="float64", choices=["float64", "float32"], help="training dtype (default float64)")
    g.addoption("--claims-report-dir", default="reports", help="where runs/<stamp>/ and the 'latest' link go (default: reports)")
    g.addoption("--claims-no-report", action="store_true", help="do not write report files")
    g.addoption("--claims-strict", action="store_true", help="an inconclusive claim fails instead of skipping")
    g.addoption(
        "--claims-history",
        default=None,
        metavar="PATH",
        help="history store the run is appended to (default: <report dir>/history.jsonl)",
    )
    g.addoption("--claims-no-history", action="store_true", help="do not append the run to the history store")
    g.addoption(
        "--claims-no-gpu-pinning",
        action="store_true",
        help="under pytest -n, do not give each worker its own GPU (CUDA_VISIBLE_DEVICES)",
    )


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _pinning_wanted(config: pytest.Config) -> bool:
    """One GPU per worker only for --device=auto|cuda (cuda:N names a device: left alone)."""
    requested = (config.getoption("--device") or "auto").strip().lower()
    return requested in ("auto", "cuda") and not config.getoption("--claims-no-gpu-pinning")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim: a theorem-check claim (added automatically)")
    config.addinivalue_line("markers", "negative_control: a claim the harness must falsify (added automatically)")
    config.addinivalue_line("markers", "gpu: needs a CUDA device")
    pinned = None
    if _is_worker(config) and _pinning_wanted(config):
        # First thing in the worker, before resolve_device (torch.cuda.is_available) starts CUDA.
        gpus = config.workerinput.get(GPUS_KEY)
        if gpus is None:  # a controller without this plugin's hook: the inherited variable only
            gpus = visible_gpus(count=lambda: 0)
        try:
            pinned = pin_worker_gpu(config.workerinput["workerid"], list(gpus))
        except DeviceError as e:
            raise pytest.UsageError(str(e)) from None
    try:
        device = resolve_device(config.getoption("--device"))
        dtype = resolve_dtype(config.getoption("--claims-dtype"))
    except DeviceError as e:
        raise pytest.UsageError(str(e)) from None
    try:
        srch = _search_settings(config)
    except (ValueError, CostsError) as e:
        raise pytest.UsageError(str(e)) from None
    collector = ClaimsCollector(config, previous=(current_profile().name, run_settings(), search()))
    set_profile(config.getoption("--claims-profile"))
    set_run_settings(RunSettings(device=device, dtype=dtype))
    set_search(srch)
    configure_numerics()
    collector.threads = configure_threads()
    collector.pinned_gpu = pinned
    config.stash[_COLLECTOR] = collector
    config.pluginmanager.register(collector, "theorem-check-collector")


def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.stash.get(_COLLECTOR, None)
    if collector is None:
        return
    # restore what an enclosing session had (pytester runs sessions in-process)
    profile_name, settings, srch = collector.previous
    set_profile(profile_name)
    set_run_settings(settings)
    set_search(srch)
    config.pluginmanager.unregister(collector)


def _search_settings(config: pytest.Config) -> SearchSettings:
    """--claims-seed, --claims-budget, --claims-costs and --claims-db, checked."""
    raw = str(config.getoption("--claims-seed")).strip()
    try:
        seed = int(raw)
    except ValueError:
        raise ValueError(f"--claims-seed={raw!r} is not an integer (e.g. --claims-seed=20261205)") from None
    if seed < 0:
        raise ValueError(f"--claims-seed={seed} must be >= 0")
    budget = config.getoption("--claims-budget")
    if budget is not None:
        try:
            budget = float(budget)
        except ValueError:
            raise ValueError(f"--claims-budget={budget!r} is not a number of seconds") from None
        if not budget > 0:
            raise ValueError(f"--claims-budget={budget} must be > 0 seconds")
    root = config.rootpath
    costs_opt = config.getoption("--claims-costs")
    costs, costs_path = {}, ""
    if costs_opt is None:
        default = root / "claims" / "costs.json"
        if default.exists():
            costs, costs_path = load_costs(default), str(default)
    elif costs_opt.strip().lower() != "none":
        path = root / costs_opt if not os.path.isabs(costs_opt) else costs_opt
        costs, costs_path = load_costs(path), str(path)
    db_opt = config.getoption("--claims-db")
    if db_opt is None:
        database = str(root / ".hypothesis" / "theorem-check")
    elif db_opt.strip().lower() == "none":
        database = None
    else:
        database = str(root / db_opt) if not os.path.isabs(db_opt) else db_opt
    return SearchSettings(seed=seed, budget_s=budget, costs=costs, costs_path=costs_path, database=database)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        info = getattr(getattr(item, "obj", None), "claim_info", None)
        if info is None:
            continue
        item.add_marker(pytest.mark.claim)
        if info.expect == "falsified":
            item.add_marker(pytest.mark.negative_control)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    sink: list = []
    item.stash[_ITEM_RESULTS] = sink
    token = RESULT_SINK.set(sink)
    try:
        return (yield)
    finally:
        RESULT_SINK.reset(token)
        info = getattr(getattr(item, "obj", None), "claim_info", None)
        if info is not None and info.expect == "falsified":
            # A negative control's counterexample is the expected outcome: do not let Hypothesis's
            # plugin suggest a patch pinning it as a failing @example.
            item.__dict__.pop("_hypothesis_failing_examples", None)


def _replay(config: pytest.Config, nodeid: str) -> str:
    s = search()
    parts = [
        "pytest",
        f"'{nodeid}'",
        f"--claims-profile={config.getoption('--claims-profile')}",
        f"--claims-seed={s.seed}",
        f"--device={config.getoption('--device')}",
        f"--claims-dtype={config.getoption('--claims-dtype')}",
    ]
    if s.budget_s is not None:
        parts.append(f"--claims-budget={s.budget_s:g}")
    if config.getoption("--claims-costs") is not None:
        parts.append(f"--claims-costs={config.getoption('--claims-costs')}")
    return " ".join(parts)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    rep = yield
    if call.when == "call":
        strict = item.config.getoption("--claims-strict")
        worker = item.config.workerinput["workerid"] if _is_worker(item.config) else None
        for result in item.stash.get(_ITEM_RESULTS, []):
            result["nodeid"] = item.nodeid
            result["replay"] = _replay(item.config, item.nodeid)
            result["worker"] = worker
            result["cuda_visible_devices"] = os.environ.get("CUDA_VISIBLE_DEVICES")
            if result.get("counterexample"):
                result["counterexample"]["replay"] = result["replay"]
            rep.user_properties.append((PROPERTY, json.dumps(result)))
            if strict and result["verdict"] == "inconclusive" and rep.skipped:
                rep.outcome = "failed"
                rep.longrepr = f"inconclusive claim under --claims-strict: {result['inconclusive_reason']}"
    return rep


class ClaimsCollector:
    """Per-session state: gathers claim results (from this process or from xdist workers) and,
    on the controller only, writes the report, appends it to the history store and prints the
    claims table."""

    def __init__(self, config: pytest.Config, previous: tuple) -> None:
        self.config = config
        self.previous = previous
        self.results: list[dict] = []
        self.started = time.time()
        self.threads = 0
        self.written = None
        self.history = None
        self.history_error = ""
        self.pinned_gpu: str | None = None
        self.collected: dict[str, str] = {}  # nodeid -> claim id, of the claims this run should give
        self.crashed: set[str] = set()  # nodeids whose worker died while running them
        self.missing: list[dict] = []
        self._gpus: list[str] | None = None

    # -- xdist (optional hooks: the plugin works without xdist) ------------------------------
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node) -> None:
        """Controller: hand the GPU list to each worker (counted here, never in a worker)."""
        if not _pinning_wanted(self.config):
            return
        if self._gpus is None:
            self._gpus = visible_gpus()
        node.workerinput[GPUS_KEY] = list(self._gpus)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node, error) -> None:
        """Controller: the claims a worker collected (any surviving worker collected them all)."""
        self.collected.update((getattr(node, "workeroutput", None) or {}).get(COLLECTED_KEY) or {})

    # -- collection and results -------------------------------------------------------------
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        for item in session.items:  # after every deselection (-k, -m, pytest-split)
            info = getattr(getattr(item, "obj", None), "claim_info", None)
            if info is not None:
                self.collected[item.nodeid] = info.id
        if _is_worker(self.config):
            self.config.workeroutput[COLLECTED_KEY] = dict(self.collected)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "???":  # pytest-xdist's report of an item whose worker crashed
            self.crashed.add(report.nodeid)
            return
        if report.when != "call":
            return
        for key, value in report.user_properties:
            if key == PROPERTY:
                self.results.append(json.loads(value))

    def _missing(self) -> list[dict]:
        got = {r["id"] for r in self.results}
        out, listed = [], set()
        for nodeid, cid in sorted(self.collected.items()):
            if cid in got or cid in listed:
                continue
            listed.add(cid)
            reason = "its worker was killed while running it" if nodeid in self.crashed else "no result: not run (the session stopped early), skipped, or failed before the claim ran"
            out.append({"id": cid, "nodeid": nodeid, "reason": reason})
        if not self.collected:  # every worker died: the crash reports are all there is
            out += [{"id": None, "nodeid": n, "reason": "its worker was killed while running it"} for n in sorted(self.crashed)]
        return out

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = self.config
        if _is_worker(config):
            return
        self.missing = self._missing()
        if (not self.results and not self.missing) or config.getoption("--claims-no-report"):
            return
        from .report import build_report, write_report

        splits, group = getattr(config.option, "splits", None), getattr(config.option, "group", None)
        report = build_report(
            self.results,
            profile=config.getoption("--claims-profile"),
            settings=run_settings(),
            started=self.started,
            root=str(config.rootpath),
            argv=sys.argv,
            workers=int(getattr(config.option, "numprocesses", 0) or 0),
            missing=self.missing,
            search=search(),
            shard={"group": int(group), "splits": int(splits)} if splits and group else None,
        )
        report_dir = config.rootpath / config.getoption("--claims-report-dir")
        self.written = write_report(report, report_dir)
        if not config.getoption("--claims-no-history"):
            from .tools.history import HistoryError, append_run

            store = config.getoption("--claims-history") or str(report_dir / "history.jsonl")
            try:
                append_run(store, report, source=str(self.written.resolve()))
                self.history = store
            except HistoryError as e:  # the report is written; a history problem must not lose it
                self.history_error = str(e)

    def pytest_terminal_summary(self, terminalreporter, exitstatus: int, config: pytest.Config) -> None:
        if _is_worker(config) or not (self.results or self.missing):
            return
        from .report.text import claims_table, missing_lines

        s = run_settings()
        terminalreporter.section(
            f"theorem-check: {len(self.results)} claim(s), profile {config.getoption('--claims-profile')}, "
            f"seed {search().seed}, {s.device}/{s.dtype}"
        )
        if self.results:
            for line in claims_table(self.results):
                terminalreporter.write_line(line)
        if self.missing:
            terminalreporter.write_line(f"MISSING: {len(self.missing)} claim(s) collected but without a result:", red=True)
            for line in missing_lines(self.missing):
                terminalreporter.write_line(f"  {line}")
        if self.written:
            terminalreporter.write_line(f"report: {self.written}/report.html (also report.md, report.json)")
        if self.history:
            terminalreporter.write_line(f"history: appended to {self.history} (python -m harness history renders the trends)")
        if self.history_error:
            terminalreporter.write_line(f"history: not appended: {self.history_error}", yellow=True)
