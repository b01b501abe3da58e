"""pytest plugin (loaded through the ``pytest11`` entry point when the package is installed).

Options: ``--claims-profile``, ``--device``, ``--claims-dtype``, ``--claims-report-dir``,
``--claims-no-report``, ``--claims-strict``. Claims record results into a per-item sink; the
results travel to the controller in ``report.user_properties`` (so they survive pytest-xdist),
and only the controller writes report files, atomically, at the end of the session.
"""

from __future__ import annotations

import json
import os
import sys
import time

import pytest

from .claim import RESULT_SINK
from .devices import DeviceError, RunSettings, configure_numerics, configure_threads, resolve_device, resolve_dtype
from .profiles import PROFILES, current_profile, set_profile
from .runtime import run_settings, set_run_settings

PROPERTY = "theorem_check"
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
    g.addoption("--device", default="auto", help="auto | cpu | cuda | cuda:N (default: auto = cuda if available)")
    g.addoption("--claims-dtype", default="float64", choices=["float64", "float32"], help="training dtype (default float64)")
    g.addoption("--claims-report-dir", default="reports", help="where runs/<stamp>/ and the 'latest' link go (default: reports)")
    g.addoption("--claims-no-report", action="store_true", help="do not write report files")
    g.addoption("--claims-strict", action="store_true", help="an inconclusive claim fails instead of skipping")


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "claim: a theorem-check claim (added automatically)")
    config.addinivalue_line("markers", "negative_control: a claim the harness must falsify (added automatically)")
    config.addinivalue_line("markers", "gpu: needs a CUDA device")
    try:
        device = resolve_device(config.getoption("--device"))
        dtype = resolve_dtype(config.getoption("--claims-dtype"))
    except DeviceError as e:
        raise pytest.UsageError(str(e)) from None
    collector = ClaimsCollector(config, previous=(current_profile().name, run_settings()))
    set_profile(config.getoption("--claims-profile"))
    set_run_settings(RunSettings(device=device, dtype=dtype))
    configure_numerics()
    collector.threads = configure_threads()
    config.stash[_COLLECTOR] = collector
    config.pluginmanager.register(collector, "theorem-check-collector")


def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.stash.get(_COLLECTOR, None)
    if collector is None:
        return
    # restore what an enclosing session had (pytester runs sessions in-process)
    profile_name, settings = collector.previous
    set_profile(profile_name)
    set_run_settings(settings)
    config.pluginmanager.unregister(collector)


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
    return " ".join(
        [
            "pytest",
            f"'{nodeid}'",
            f"--claims-profile={config.getoption('--claims-profile')}",
            f"--device={config.getoption('--device')}",
            f"--claims-dtype={config.getoption('--claims-dtype')}",
        ]
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    rep = yield
    if call.when == "call":
        strict = item.config.getoption("--claims-strict")
        for result in item.stash.get(_ITEM_RESULTS, []):
            result["nodeid"] = item.nodeid
            result["replay"] = _replay(item.config, item.nodeid)
            if result.get("counterexample"):
                result["counterexample"]["replay"] = result["replay"]
            rep.user_properties.append((PROPERTY, json.dumps(result)))
            if strict and result["verdict"] == "inconclusive" and rep.skipped:
                rep.outcome = "failed"
                rep.longrepr = f"inconclusive claim under --claims-strict: {result['inconclusive_reason']}"
    return rep


class ClaimsCollector:
    """Per-session state: gathers claim results (from this process or from xdist workers) and,
    on the controller only, writes the report and prints the claims table."""

    def __init__(self, config: pytest.Config, previous: tuple) -> None:
        self.config = config
        self.previous = previous
        self.results: list[dict] = []
        self.started = time.time()
        self.threads = 0
        self.written = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for key, value in report.user_properties:
            if key == PROPERTY:
                self.results.append(json.loads(value))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        config = self.config
        if _is_worker(config) or not self.results or config.getoption("--claims-no-report"):
            return
        from .report import build_report, write_report

        report = build_report(
            self.results,
            profile=config.getoption("--claims-profile"),
            settings=run_settings(),
            started=self.started,
            root=str(config.rootpath),
            argv=sys.argv,
            workers=int(getattr(config.option, "numprocesses", 0) or 0),
        )
        self.written = write_report(report, config.rootpath / config.getoption("--claims-report-dir"))

    def pytest_terminal_summary(self, terminalreporter, exitstatus: int, config: pytest.Config) -> None:
        if _is_worker(config) or not self.results:
            return
        from .report.text import claims_table

        s = run_settings()
        terminalreporter.section(
            f"theorem-check: {len(self.results)} claim(s), profile {config.getoption('--claims-profile')}, {s.device}/{s.dtype}"
        )
        for line in claims_table(self.results):
            terminalreporter.write_line(line)
        if self.written:
            terminalreporter.write_line(f"report: {self.written}/report.html (also report.md, report.json)")
