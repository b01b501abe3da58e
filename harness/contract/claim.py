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

The search (see :mod:`harness.budget`): a claim runs as many examples as its budget pays for,
with Hypothesis seeded from (claim id, ``--claims-seed``). Error control: a falsification of a
``probability``, ``scaling`` or ``threshold`` claim (or any claim declared ``statistical=True``,
such as an identity checked by a Monte Carlo test) is reported only if it recurs: the same example
is run again with fresh trial seeds that the search never used (:func:`harness.seeding.replication`),
round after round, at most :data:`MAX_ROUNDS` rounds; :data:`REPLICATIONS` failing rounds falsify it,
one passing round settles it as not replicated, and an undecided round (a statistic that could not
decide) counts for neither. With each check wrong at most 5% of the time on a true claim, a true claim
then reads falsified with probability at most C(3, 2) 0.05^2 = 0.0075 in a run (two of three rounds
failing, a union bound over the pairs), however many examples it tried. A falsification that does
not recur is reported ``inconclusive``, with the search's result and the rounds'. ``identity`` and ``for_all`` counterexamples are deterministic: they are replayed once,
exactly, and one that does not reproduce is ``inconclusive`` too (a flaky check).
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

from ..runtime import seeding
from ..runtime.budget import Plan, plan_for
from ..runtime.profiles import current_profile
from ..runtime.shared_work import reused_seconds

__all__ = [
    "CHECK_LEVEL",
    "ERROR_LEVEL",
    "MAX_ROUNDS",
    "REGISTRY",
    "REPLICATIONS",
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

#: Quantifiers whose checks are statistical: their falsifications are replicated on fresh seeds.
STATISTICAL = ("probability", "scaling", "threshold")
#: Fresh-seed rounds that must fail again before a statistical falsification is reported.
REPLICATIONS = 2
#: The most fresh-seed rounds tried (undecided rounds count for neither side).
MAX_ROUNDS = 3
#: The error rate each check of a statistical claim is built for (one-sided 95% bounds and intervals).
CHECK_LEVEL = 0.05
#: The chance that a true statistical claim reads falsified in one run: some REPLICATIONS of the
#: MAX_ROUNDS rounds fail (a union bound over the subsets).
ERROR_LEVEL = math.comb(MAX_ROUNDS, REPLICATIONS) * CHECK_LEVEL**REPLICATIONS


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
    examples: dict[str, int] | None = None  #: a pinned example count per profile (costly claims; see harness.budget)
    budget: dict[str, float] | None = None  #: search seconds per profile, replacing the profile's budget_s
    #: whether the check is statistical (its falsifications are replicated on fresh seeds); None: from the
    #: quantifier (probability, scaling, threshold). An identity checked by a Monte Carlo z test says True.
    statistical: bool | None = None
    #: where finite-width behaviour departs from the theory's statement or an over-reading of it, in a
    #: sentence with the measured numbers (the report's Findings section lists these claims)
    finding: str = ""

    @property
    def is_statistical(self) -> bool:
        return self.quantifier in STATISTICAL if self.statistical is None else bool(self.statistical)

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


class _BudgetSpent(BaseException):
    """Raised before an example once a claim on the clock has spent its budget: it stops the search
    (a BaseException, so Hypothesis does not take it for a failure) and the claim ends confirmed."""


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
    distinct: set = field(default_factory=set)  #: the examples' arguments, each once
    problems: set = field(default_factory=set)  #: the examples' problems (their spec-like arguments), each once
    sizes: dict = field(default_factory=dict)  #: name -> [lo, hi] over decided examples
    failure_call: tuple | None = None  #: (args, kwargs) of the last failing call, to replicate it
    stopped_by_budget: bool = False

    def add(self, ev: Evidence) -> None:
        self.count += 1
        self.distinct.add(json.dumps(ev.args, sort_keys=True, default=repr))
        # a problem: the structured arguments (a ProblemSpec, a ToySpec, ...) without the scalars drawn with them
        specs = {k: v for k, v in ev.args.items() if isinstance(v, dict)}
        if specs:
            self.problems.add(json.dumps(specs, sort_keys=True, default=repr))
        if ev.status in ("passed", "failed"):
            for k, v in ev.sizes.items():
                lo, hi = self.sizes.get(k, [v, v])
                self.sizes[k] = [min(lo, v), max(hi, v)]
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
        return {k: list(v) for k, v in self.sizes.items()}


def _hypothesis_notes(exc: BaseException) -> list[str]:
    return [str(n) for n in getattr(exc, "__notes__", [])]


def _run_example(fn: Callable[..., Any], args: tuple, kwargs: dict, drawn: set) -> tuple[Evidence, BaseException | None, Any]:
    """Run one example of a claim body with its own evidence record: (evidence with its status, the
    exception it raised or None, the result). Shared by the search and the replications."""
    ev = Evidence({k: v for k, v in kwargs.items() if k in drawn})
    token = _EVIDENCE.set(ev)
    t0 = time.perf_counter()
    result, exc = None, None
    try:
        result = fn(*args, **kwargs)
        ev.status = "passed"
    except _Undecided as e:
        ev.status, exc = "undecided", e
    except UnsatisfiedAssumption as e:
        ev.status, exc = "rejected", e
    except AssertionError as e:
        ev.status, ev.message, exc = "failed", str(e), e
    except BaseException as e:
        ev.status, ev.message, exc = "error", f"{type(e).__name__}: {e}", e
    finally:
        ev.seconds = time.perf_counter() - t0
        _EVIDENCE.reset(token)
    return ev, exc, result


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
    budget: dict[str, float] | None = None,
    statistical: bool | None = None,
    finding: str = "",
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
        budget=budget,
        statistical=statistical,
        finding=finding,
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
        state: dict[str, Any] = {"run": None, "plan": None, "t0": 0.0}

        @functools.wraps(original_inner)
        def inner(*args: Any, **kwargs: Any) -> Any:
            run, plan = state["run"], state["plan"]
            if (
                run is not None
                and plan is not None
                and plan.on_clock
                and run.failing == 0
                and run.count >= plan.min_examples
                and time.perf_counter() - state["t0"] >= plan.budget_s
            ):
                run.stopped_by_budget = True
                raise _BudgetSpent()
            ev, exc, result = _run_example(original_inner, args, kwargs, drawn)
            if run is not None:
                if ev.status == "failed":
                    run.failure_call = (args, kwargs)
                run.add(ev)
            if exc is not None:
                raise exc
            return result

        handle.inner_test = inner

        def replicate(call: tuple, rounds: list[int]) -> list[dict]:
            """Run the failing example again: on fresh trial seeds (rounds >= 1) or exactly (round 0)."""
            out = []
            a, kw = call
            for k in rounds:
                with seeding.replication(k):
                    ev, exc, _ = _run_example(original_inner, a, kw, drawn)
                if ev.status == "error":
                    raise exc  # an error while replicating is an error of the claim
                out.append(
                    {
                        "round": k,
                        "seeds": "the search's, replayed exactly" if k == 0 else f"fresh (replication round {k})",
                        "status": ev.status,
                        "message": (ev.message or ev.undecided_reason)[:500],
                        "figures": {n: f["measured"] for n, f in ev.figures.items()},
                        "seconds": round(ev.seconds, 3),
                    }
                )
                if k == 0 or ev.status == "passed":
                    break  # an exact replay is one round; a passing round settles it
                if sum(r["status"] == "failed" for r in out) >= REPLICATIONS:
                    break
            return out

        @functools.wraps(test)
        def outer(*args: Any, **kwargs: Any) -> None:
            from ..runtime.session import search

            run = ClaimRun(info)
            prof, srch = current_profile(), search()
            plan = plan_for(info.id, info.examples, info.budget, prof, srch)
            db = None
            if srch.database and info.expect == "confirmed":
                # a control's counterexample is expected: kept out, so every run searches for it anew
                from hypothesis.database import DirectoryBasedExampleDatabase

                db = DirectoryBasedExampleDatabase(srch.database)
            # the seed first: hypothesis.seed() turns the database off, the settings then turn it back on
            # (a forced seed with a database: saved failures are replayed first, then the seed's examples)
            hypothesis.seed(seeding.derive_seed("hypothesis", info.id, srch.seed))(test)
            test._hypothesis_internal_use_settings = hypothesis.settings(
                hypothesis.settings.default, max_examples=plan.examples, database=db
            )
            t0, reused0 = time.perf_counter(), reused_seconds()
            state.update(run=run, plan=plan, t0=t0)
            verdict, exc, error = "confirmed", None, None
            try:
                test(*args, **kwargs)
            except _BudgetSpent:
                pass
            except Unsatisfiable as e:
                verdict, exc = "inconclusive", e
            except AssertionError as e:
                verdict, exc = "falsified", e
            except BaseException as e:
                verdict, exc, error = "error", e, e
            finally:
                state.update(run=None, plan=None)
            search_seconds = time.perf_counter() - t0
            replications: list[dict] = []
            if verdict == "falsified" and run.failure_call is not None:
                rounds = list(range(1, MAX_ROUNDS + 1)) if info.is_statistical else [0]
                try:
                    replications = replicate(run.failure_call, rounds)
                except BaseException as e:  # an error while replicating is an error of the claim
                    verdict, exc, error = "error", e, e
                needed = REPLICATIONS if info.is_statistical else 1
                if verdict == "falsified" and sum(r["status"] == "failed" for r in replications) < needed:
                    verdict = "inconclusive"
            if verdict == "confirmed" and run.passed == 0:
                verdict = "inconclusive"
            seconds = time.perf_counter() - t0
            result = _result(
                run,
                verdict,
                exc,
                seconds,
                prof.name,
                work_seconds=seconds + reused_seconds() - reused0,
                plan=plan,
                search_seconds=search_seconds,
                replications=replications,
                run_seed=srch.seed,
                database=db is not None,
            )
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


def _search_block(run: ClaimRun, plan: Plan | None, seconds: float, run_seed: int, database: bool, falsified: bool) -> dict:
    """The strength of one claim's search, for the report."""
    if plan is None:
        plan = Plan("fixed", run.count, run.count, 0.0)
    if falsified:
        stopped = "a counterexample (then shrinking)"
    elif run.stopped_by_budget:
        stopped = "budget spent"
    elif run.count >= plan.examples:
        stopped = "planned examples done"
    else:
        stopped = "Hypothesis ran out of new examples"
    return {
        "run_seed": run_seed,
        "mode": plan.mode,
        "budget_s": plan.budget_s,
        "planned_examples": plan.examples,
        "min_examples": plan.min_examples,
        "cost_per_example": plan.cost_per_example,
        "examples_tried": run.count,
        "distinct_examples": len(run.distinct),
        "distinct_problems": len(run.problems) if run.problems else len(run.distinct),
        "seconds": round(seconds, 3),
        "budget_used": round(seconds / plan.budget_s, 3) if plan.budget_s > 0 else None,
        "stopped_by": stopped,
        "database": database,
    }


def _error_control(info: ClaimInfo, replications: list[dict]) -> dict:
    if info.is_statistical:
        return {
            "method": f"a falsification must recur on {REPLICATIONS} of at most {MAX_ROUNDS} rounds with fresh trial seeds "
            "(a passing round settles it; an undecided round counts for neither)",
            "check_level": CHECK_LEVEL,
            "level": ERROR_LEVEL,
            "replications": replications,
        }
    return {
        "method": "deterministic check: a counterexample is replayed once, exactly",
        "check_level": None,
        "level": 0.0,
        "replications": replications,
    }


def _result(
    run: ClaimRun,
    verdict: str,
    exc: BaseException | None,
    seconds: float,
    profile: str,
    work_seconds: float | None = None,
    *,
    plan: Plan | None = None,
    search_seconds: float | None = None,
    replications: list[dict] | None = None,
    run_seed: int = 0,
    database: bool = False,
) -> dict:
    info = run.info
    replications = replications or []
    failed_search = run.last_failure is not None and verdict in ("falsified", "inconclusive") and bool(replications)
    rep = run.last_failure if (verdict == "falsified" or failed_search) and run.last_failure else (run.worst or run.last_passed)
    reasons = sorted({ev.undecided_reason for ev in run.examples if ev.undecided_reason})
    if failed_search and verdict == "inconclusive":
        last = replications[-1]
        tally = ", ".join(f"round {r['round']} {r['status']}" for r in replications)
        reasons = [
            f"not replicated: the search's counterexample ({run.last_failure.message[:200]}) did not recur on fresh seeds "
            f"({tally}; the last: {last['message'][:200] or 'no message'})"
        ]
    counterexample = None
    if (verdict == "falsified" or failed_search) and run.last_failure is not None:
        counterexample = {
            "args": run.last_failure.args,
            "message": run.last_failure.message,
            "first_found_args": run.first_failure.args if run.first_failure else None,
            "failing_examples_seen": run.failing,
            "hypothesis": _hypothesis_notes(exc) if exc else [],
            "replications": replications,
            "replicated": verdict == "falsified",
        }
    error = None
    if verdict == "error" and exc is not None:
        # type and message first: Hypothesis's reproduction notes go to the end, not in their place
        error = f"{type(exc).__name__}: {exc}".strip()[:2000]
        tb = traceback.extract_tb(exc.__traceback__)
        if tb:
            error += f"\n  at {tb[-1].filename}:{tb[-1].lineno} in {tb[-1].name}"
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
        "search": _search_block(run, plan, seconds if search_seconds is None else search_seconds, run_seed, database, verdict == "falsified" or failed_search),
        "error_control": _error_control(info, replications),
    }
    json.dumps(out)  # fail here, not in the report writer, if something is not serializable
    return out
