"""The claim contract: metadata on a test, evidence per example, and a verdict per claim.

A claim is a pytest test decorated with :func:`claim` (outermost) over ``@given``::

    @claim(
        id="du2018.thm4.1.gd_linear_rate",
        paper=DZPS,
        theorem="Theorem 4.1",
        statement="||y - u(k)||^2 <= (1 - eta lambda_0 / 2)^k ||y - u(0)||^2",
        quantifier="probability",
    )
    @given(spec=strategies.problems(), c=strategies.step_factors())
    def test_gd_linear_rate(spec, c):
        ev = evidence()
        ...
        ev.figure("contraction", measured=rho, predicted=bound)
        assert ok, "the rate bound failed on ..."

The body asserts the claim's predicate. The decorator turns the outcome into a verdict:

* ``confirmed``: no counterexample in the examples tried (with the worst margin seen);
* ``falsified``: Hypothesis found a counterexample and shrank it (kept with a replay command);
* ``inconclusive``: every example was undecided (see :func:`undecided`) or rejected.

A negative control (``expect="falsified"``) passes in pytest exactly when it is falsified,
and fails when the harness could not falsify it (the check lacks power). Only
``AssertionError`` counts as falsification; any other exception is an error in the claim.
"""

from __future__ import annotations

import contextvars
import functools
import json
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Literal

import hypothesis
from hypothesis.errors import UnsatisfiedAssumption, Unsatisfiable

from .profiles import current_profile
from .shared_work import reused_seconds

__all__ = [
    "REGISTRY",
    "ClaimInfo",
    "ClaimNotFalsified",
    "Evidence",
    "Paper",
    "claim",
    "evidence",
    "undecided",
]

Quantifier = Literal["identity", "for_all", "probability", "scaling", "threshold"]
Expect = Literal["confirmed", "falsified"]


@dataclass(frozen=True)
class Paper:
    """A source: the key is short (``du2018``), arxiv carries the version used for numbering."""

    key: str
    title: str
    authors: str
    year: int
    arxiv: str = ""
    venue: str = ""

    @property
    def url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else ""

    def cite(self) -> str:
        v = f", {self.venue}" if self.venue else ""
        a = f", arXiv:{self.arxiv}" if self.arxiv else ""
        return f"{self.authors} ({self.year}). {self.title}{v}{a}"


@dataclass(frozen=True)
class ClaimInfo:
    """Metadata of one claim. ``id`` is ``<paper>.<theorem>.<name>``; it keys reports and history."""

    id: str
    paper: Paper
    theorem: str
    statement: str
    quantifier: Quantifier = "for_all"
    expect: Expect = "confirmed"
    predicate: str = ""  #: what the body asserts, in words (when it differs from the statement)
    assumptions: str = ""  #: the hypotheses of the theorem the strategies respect
    regime: str = ""  #: theorem constants vs practical sizes, and why
    control_of: str = ""  #: for a negative control: the claim id it guards
    notes: str = ""
    examples: dict[str, int] | None = None  #: max_examples per profile, overriding the profile's

    def to_dict(self) -> dict:
        d = asdict(self)
        d["paper"] = {**asdict(self.paper), "url": self.paper.url}
        return d


#: Every claim defined in the imported modules, by id.
REGISTRY: dict[str, ClaimInfo] = {}


class ClaimNotFalsified(AssertionError):
    """A negative control held on every example: the harness failed to show it is false."""


class _Undecided(UnsatisfiedAssumption):
    pass


def _jsonable(v: Any, depth: int = 0) -> Any:
    if depth > 4:
        return repr(v)
    if is_dataclass(v) and not isinstance(v, type):
        return {k: _jsonable(x, depth + 1) for k, x in asdict(v).items()}
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, dict):
        return {str(k): _jsonable(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x, depth + 1) for x in v]
    try:
        import torch

        if isinstance(v, torch.Tensor):
            return _jsonable(v.detach().cpu().tolist(), depth + 1)
    except Exception:  # pragma: no cover
        pass
    try:
        import numpy as np

        if isinstance(v, np.generic):
            return _jsonable(v.item(), depth + 1)
        if isinstance(v, np.ndarray):
            return _jsonable(v.tolist(), depth + 1)
    except Exception:  # pragma: no cover
        pass
    return repr(v)


def _downsample(xs: list, ys: list, limit: int = 400) -> tuple[list, list]:
    if len(xs) <= limit:
        return xs, ys
    step = len(xs) / limit
    idx = sorted({int(i * step) for i in range(limit)} | {len(xs) - 1})
    return [xs[i] for i in idx], [ys[i] for i in idx]


class Evidence:
    """What one example of a claim measured. Get the current one with :func:`evidence`."""

    def __init__(self, args: dict[str, Any]) -> None:
        self.args = {k: _jsonable(v) for k, v in args.items()}
        self.figures: dict[str, dict] = {}
        self.plots: list[dict] = []
        self.sizes: dict[str, float] = {}
        self.notes: list[str] = []
        self.margin_value: float | None = None
        self.margin_description = ""
        self.status = "running"
        self.message = ""
        self.undecided_reason = ""
        self.seconds = 0.0

    # -- recording -----------------------------------------------------------------------
    def figure(
        self,
        name: str,
        measured: Any,
        predicted: Any = None,
        *,
        interval: tuple[float, float] | None = None,
        relation: str = "",
        unit: str = "",
    ) -> Evidence:
        """A measured figure next to the theory's prediction (``relation`` says how they compare)."""
        self.figures[name] = {
            "measured": _jsonable(measured),
            "predicted": _jsonable(predicted),
            "interval": _jsonable(interval),
            "relation": relation,
            "unit": unit,
        }
        return self

    def margin(self, ratio: float, description: str) -> Evidence:
        """How close this example came to the bound: observed / allowed (<= 1 means inside)."""
        r = float(ratio)
        if self.margin_value is None or not (r <= self.margin_value):
            self.margin_value = r
            self.margin_description = description
        return self

    def size(self, **kw: float) -> Evidence:
        """Sizes this example covered (n, d, m, steps, seeds ...), for the report's coverage table."""
        for k, v in kw.items():
            self.sizes[k] = float(v)
        return self

    def note(self, text: str) -> Evidence:
        self.notes.append(text)
        return self

    def plot(
        self,
        name: str,
        lines: list[dict],
        *,
        title: str = "",
        xlabel: str = "",
        ylabel: str = "",
        xscale: str = "linear",
        yscale: str = "linear",
    ) -> Evidence:
        """A plot for the report card. Each line: ``{"label", "x", "y", "style"}`` with style one of
        ``line`` (measured), ``bound`` (a theory bound or prediction), ``points``, ``band``
        (with ``y_low``/``y_high``) or ``fit``."""
        clean = []
        for ln in lines:
            x, y = list(map(float, ln["x"])), list(map(float, ln["y"]))
            x, y = _downsample(x, y)
            item = {k: _jsonable(v) for k, v in ln.items() if k not in ("x", "y", "y_low", "y_high")}
            item["x"], item["y"] = _jsonable(x), _jsonable(y)
            for extra in ("y_low", "y_high"):
                if extra in ln:
                    _, item[extra] = _downsample(list(map(float, ln["x"])), list(map(float, ln[extra])))
                    item[extra] = _jsonable(item[extra])
            clean.append(item)
        self.plots.append(
            {"name": name, "title": title, "xlabel": xlabel, "ylabel": ylabel, "xscale": xscale, "yscale": yscale, "lines": clean}
        )
        return self

    def summary(self) -> dict:
        return {
            "args": self.args,
            "status": self.status,
            "margin": self.margin_value,
            "figures": {k: v["measured"] for k, v in self.figures.items()},
            "sizes": self.sizes,
            "message": self.message[:500],
            "seconds": round(self.seconds, 4),
        }

    def full(self) -> dict:
        return {
            **self.summary(),
            "figures": self.figures,
            "plots": self.plots,
            "notes": self.notes,
            "margin_description": self.margin_description,
            "undecided_reason": self.undecided_reason,
        }


_EVIDENCE: contextvars.ContextVar[Evidence | None] = contextvars.ContextVar("theorem_check_evidence", default=None)
#: The plugin sets a list here per test item; results are appended to it.
RESULT_SINK: contextvars.ContextVar[list | None] = contextvars.ContextVar("theorem_check_sink", default=None)
#: Results of claims run without the plugin (plain function calls), newest last.
UNSUNK_RESULTS: list[dict] = []


def evidence() -> Evidence:
    """The evidence record of the example being run (outside a claim: a throwaway record)."""
    ev = _EVIDENCE.get()
    if ev is None:
        ev = Evidence({})
        _EVIDENCE.set(ev)
    return ev


def undecided(reason: str) -> None:
    """Mark this example undecided (a statistic could neither accept nor reject) and skip it.

    The example is not counted as a confirmation. If every example is undecided, the claim's
    verdict is ``inconclusive``; ``reason`` should say what would decide it (e.g. seeds needed).
    """
    evidence().undecided_reason = reason
    raise _Undecided(reason)


@dataclass
class ClaimRun:
    info: ClaimInfo
    examples: list[Evidence] = field(default_factory=list)
    count: int = 0
    passed: int = 0
    undecided: int = 0
    rejected: int = 0
    failing: int = 0
    first_failure: Evidence | None = None
    last_failure: Evidence | None = None
    worst: Evidence | None = None
    last_passed: Evidence | None = None

    def add(self, ev: Evidence) -> None:
        self.count += 1
        if len(self.examples) < 200:
            self.examples.append(ev)
        if ev.status == "passed":
            self.passed += 1
            self.last_passed = ev
            if ev.margin_value is not None and (self.worst is None or ev.margin_value > (self.worst.margin_value or -math.inf)):
                self.worst = ev
        elif ev.status == "failed":
            self.failing += 1
            if self.first_failure is None:
                self.first_failure = ev
            self.last_failure = ev
        elif ev.status == "undecided":
            self.undecided += 1
        elif ev.status == "rejected":
            self.rejected += 1

    def sizes_covered(self) -> dict[str, list[float]]:
        cov: dict[str, list[float]] = {}
        for ev in self.examples:
            if ev.status not in ("passed", "failed"):
                continue
            for k, v in ev.sizes.items():
                lo, hi = cov.get(k, [v, v])
                cov[k] = [min(lo, v), max(hi, v)]
        return cov


def _hypothesis_notes(exc: BaseException) -> list[str]:
    return [str(n) for n in getattr(exc, "__notes__", [])]


def claim(
    *,
    id: str,
    paper: Paper,
    theorem: str,
    statement: str,
    quantifier: Quantifier = "for_all",
    expect: Expect = "confirmed",
    predicate: str = "",
    assumptions: str = "",
    regime: str = "",
    control_of: str = "",
    notes: str = "",
    examples: dict[str, int] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a claim on a ``@given`` test (apply it outermost). See the module docstring."""
    info = ClaimInfo(
        id=id,
        paper=paper,
        theorem=theorem,
        statement=statement,
        quantifier=quantifier,
        expect=expect,
        predicate=predicate,
        assumptions=assumptions,
        regime=regime,
        control_of=control_of,
        notes=notes,
        examples=examples,
    )
    if expect not in ("confirmed", "falsified"):
        raise ValueError(f"claim {id}: expect must be 'confirmed' or 'falsified', got {expect!r}")
    if expect == "falsified" and not control_of:
        raise ValueError(f"claim {id}: a negative control must name the claim it guards (control_of=)")

    def decorate(test: Callable[..., Any]) -> Callable[..., Any]:
        handle = getattr(test, "hypothesis", None)
        if handle is None or not getattr(test, "is_hypothesis_test", False):
            raise TypeError(f"@claim({id!r}) must be applied on top of @given(...)")
        if id in REGISTRY and REGISTRY[id] != info:
            raise ValueError(f"claim id {id!r} is defined twice")
        REGISTRY[id] = info
        original_inner = handle.inner_test
        drawn = set(handle._given_kwargs)
        state: dict[str, ClaimRun | None] = {"run": None}

        @functools.wraps(original_inner)
        def inner(*args: Any, **kwargs: Any) -> Any:
            run = state["run"]
            ev = Evidence({k: v for k, v in kwargs.items() if k in drawn})
            token = _EVIDENCE.set(ev)
            t0 = time.perf_counter()
            try:
                result = original_inner(*args, **kwargs)
            except _Undecided:
                ev.status = "undecided"
                raise
            except UnsatisfiedAssumption:
                ev.status = "rejected"
                raise
            except AssertionError as e:
                ev.status = "failed"
                ev.message = str(e)
                raise
            except BaseException as e:
                ev.status = "error"
                ev.message = f"{type(e).__name__}: {e}"
                raise
            else:
                ev.status = "passed"
                return result
            finally:
                ev.seconds = time.perf_counter() - t0
                _EVIDENCE.reset(token)
                if run is not None:
                    run.add(ev)

        handle.inner_test = inner

        @functools.wraps(test)
        def outer(*args: Any, **kwargs: Any) -> None:
            run = ClaimRun(info)
            state["run"] = run
            prof = current_profile()
            base = hypothesis.settings.default
            n_ex = (info.examples or {}).get(prof.name, base.max_examples)
            test._hypothesis_internal_use_settings = hypothesis.settings(base, max_examples=n_ex)
            t0, reused0 = time.perf_counter(), reused_seconds()
            verdict, exc, error = "confirmed", None, None
            try:
                test(*args, **kwargs)
            except Unsatisfiable as e:
                verdict, exc = "inconclusive", e
            except AssertionError as e:
                verdict, exc = "falsified", e
            except BaseException as e:
                verdict, exc, error = "error", e, e
            finally:
                state["run"] = None
            if verdict == "confirmed" and run.passed == 0:
                verdict = "inconclusive"
            seconds = time.perf_counter() - t0
            result = _result(run, verdict, exc, seconds, prof.name, work_seconds=seconds + reused_seconds() - reused0)
            sink = RESULT_SINK.get()
            (sink if sink is not None else UNSUNK_RESULTS).append(result)
            if error is not None:
                raise error
            _raise_for_outcome(info, verdict, exc, run, result)

        outer.claim_info = info  # type: ignore[attr-defined]
        return outer

    return decorate


def _raise_for_outcome(info: ClaimInfo, verdict: str, exc: BaseException | None, run: ClaimRun, result: dict) -> None:
    import pytest

    if info.expect == "confirmed":
        if verdict == "falsified":
            assert exc is not None
            raise exc
        if verdict == "inconclusive":
            pytest.skip(f"inconclusive: {result['inconclusive_reason']}")
        return
    # negative control
    if verdict == "falsified":
        return
    if verdict == "inconclusive":
        pytest.fail(
            f"negative control {info.id} was inconclusive ({result['inconclusive_reason']}): "
            "the harness could not show it false."
        )
    raise ClaimNotFalsified(
        f"negative control {info.id} held on all {run.passed} example(s): the harness failed to "
        f"falsify a claim known to be false, so the check guarding {info.control_of} lacks power."
    )


def _result(run: ClaimRun, verdict: str, exc: BaseException | None, seconds: float, profile: str, work_seconds: float | None = None) -> dict:
    info = run.info
    rep = run.last_failure if verdict == "falsified" and run.last_failure else (run.worst or run.last_passed)
    reasons = sorted({ev.undecided_reason for ev in run.examples if ev.undecided_reason})
    counterexample = None
    if verdict == "falsified" and run.last_failure is not None:
        counterexample = {
            "args": run.last_failure.args,
            "message": run.last_failure.message,
            "first_found_args": run.first_failure.args if run.first_failure else None,
            "failing_examples_seen": run.failing,
            "hypothesis": _hypothesis_notes(exc) if exc else [],
        }
    error = None
    if verdict == "error" and exc is not None:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
    out = {
        "id": info.id,
        "info": info.to_dict(),
        "verdict": verdict,
        "expected": info.expect,
        "as_expected": verdict == info.expect,
        "profile": profile,
        "examples_tried": run.count,
        "examples_passed": run.passed,
        "examples_failed": run.failing,
        "examples_undecided": run.undecided,
        "examples_rejected": run.rejected,
        "inconclusive_reason": "; ".join(reasons) or ("all examples rejected by the claim's assumptions" if run.passed == 0 else ""),
        "sizes_covered": run.sizes_covered(),
        "margin": {
            "value": run.worst.margin_value if run.worst else None,
            "description": run.worst.margin_description if run.worst else "",
        },
        "representative": rep.full() if rep else None,
        "counterexample": counterexample,
        "examples": [ev.summary() for ev in run.examples],
        "error": error,
        "seconds": round(seconds, 3),
        # seconds + the compute time of shared cached results it reused (harness.shared_work): the
        # same whichever claim computed them, so comparable across orders, workers and shards
        "work_seconds": round(seconds if work_seconds is None else work_seconds, 3),
    }
    json.dumps(out)  # fail here, not in the report writer, if something is not serializable
    return out
