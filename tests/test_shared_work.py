"""harness.shared_work: an LRU cache that charges a hit the compute time of the entry, so a claim's
work seconds do not depend on whether its twin computed the shared sweep first; and the comparison
judging "slower" on them."""

from __future__ import annotations

import copy
import json
import time

import pytest

from harness.tools.compare import compare_reports
from harness.runtime.shared_work import reused_seconds, shared_work


def _busy(seconds: float) -> None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        pass


def test_a_hit_charges_the_entry_cost_and_returns_the_same_object():
    calls = []

    @shared_work(maxsize=4)
    def sweep(k, *, scale=1):
        calls.append(k)
        _busy(0.05)
        return [k * scale]

    r0 = reused_seconds()
    a = sweep(1, scale=2)
    assert reused_seconds() == r0  # a miss charges nothing: its time is the caller's own
    b = sweep(1, scale=2)
    assert b is a and calls == [1]
    charged = reused_seconds() - r0
    assert 0.05 <= charged < 0.5
    info = sweep.cache_info()
    assert (info.hits, info.misses, info.currsize, info.maxsize) == (1, 1, 1, 4)
    assert info.reused_seconds == pytest.approx(charged)
    sweep(1, scale=3)  # other arguments: another entry
    assert calls == [1, 1]


def test_nested_hits_are_part_of_the_outer_cost():
    @shared_work()
    def inner():
        _busy(0.05)
        return 1

    @shared_work()
    def outer():
        return inner() + 1  # a hit on inner inside outer's computation

    inner()
    r0 = reused_seconds()
    outer()  # miss; inner is a hit charged ~0.05 s
    mid = reused_seconds()
    assert mid - r0 >= 0.05
    outer()  # hit: charged outer's cost, which includes the 0.05 s it reused
    assert reused_seconds() - mid >= 0.05


def test_eviction_errors_and_clear():
    @shared_work(maxsize=2)
    def f(k):
        if k < 0:
            raise ValueError("negative")
        return k

    for k in (1, 2, 3):
        f(k)
    assert f.cache_info().currsize == 2
    f(1)  # evicted: computed again
    assert f.cache_info().misses == 4
    with pytest.raises(ValueError, match="negative"):
        f(-1)
    with pytest.raises(ValueError, match="negative"):
        f(-1)  # errors are not cached
    assert f.cache_info().misses == 6
    f.cache_clear()
    assert f.cache_info() == (0, 0, 2, 0, 0.0)
    with pytest.raises(ValueError, match="maxsize"):
        shared_work(maxsize=0)


TWINS = '''
import time

from hypothesis import given, strategies as st

from harness import claim
from harness.contract.papers import DZPS
from harness.runtime.shared_work import shared_work


SWEEP_S = 1.0


@shared_work(maxsize=2)
def sweep():
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < SWEEP_S:
        pass
    return 1.0


@claim(id="tw.claim", paper=DZPS, theorem="T", statement="the sweep is 1", examples={"quick": 1})
@given(k=st.just(0))
def test_claim(k):
    assert sweep() == 1.0


@claim(id="tw.twin", paper=DZPS, theorem="T", statement="(planted) the sweep is 2", expect="falsified", control_of="tw.claim",
       examples={"quick": 1})
@given(k=st.just(0))
def test_twin(k):
    assert sweep() == 2.0
'''


def _claims(pytester, *args) -> dict[str, dict]:
    res = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--claims-no-history", *args)  # a fresh cache each run
    assert res.ret == 0, res.stdout.str()[-2000:]
    report = json.loads((pytester.path / "reports" / "latest" / "report.json").read_text())
    return {c["id"]: c for c in report["claims"]}, report


def test_work_seconds_do_not_depend_on_who_computed_the_sweep(pytester: pytest.Pytester):
    pytester.makepyfile(test_twins=TWINS)
    together, rep_together = _claims(pytester)  # one process: the twin reuses the claim's sweep
    first, second = together["tw.claim"], together["tw.twin"]
    # wall seconds: on a loaded machine Hypothesis's own overhead moves them by a few tenths, so the
    # sweep is 1 s long and the comparison relative
    assert first["seconds"] >= 1.0 and second["seconds"] < first["seconds"] / 2
    assert second["work_seconds"] >= 1.0  # charged the sweep it reused
    assert abs(first["work_seconds"] - first["seconds"]) < 0.05
    alone, rep_alone = _claims(pytester, "-k", "not test_claim")  # the twin alone computes the sweep itself
    assert alone["tw.twin"]["seconds"] >= 1.0
    a, b = alone["tw.twin"]["work_seconds"], second["work_seconds"]
    assert abs(a - b) <= 0.2 * max(a, b), (a, b)
    # the comparison judges work seconds: the twin is not "slower" alone than after its claim
    base = copy.deepcopy(rep_together)
    base["claims"] = [c for c in base["claims"] if c["id"] == "tw.twin"]
    comp = compare_reports(base, rep_alone, min_seconds=0.1)
    assert not [ch for ch in comp["changes"] if ch["kind"] == "slower"], comp["changes"]
    # while wall seconds alone would have called it slower
    for c in base["claims"]:
        del c["work_seconds"]
    comp = compare_reports(base, rep_alone, min_seconds=0.1)
    assert [ch["id"] for ch in comp["changes"] if ch["kind"] == "slower"] == ["tw.twin"]


def test_work_seconds_that_really_grow_are_slower():
    from test_compare import make_report, make_result

    base = make_report([make_result("t.a", seconds=0.01)])
    run = make_report([make_result("t.a", seconds=0.01)])
    base["claims"][0]["work_seconds"] = 2.0
    run["claims"][0]["work_seconds"] = 9.0
    comp = compare_reports(base, run)
    assert [(ch["kind"], ch["id"], ch["regression"]) for ch in comp["changes"]] == [("slower", "t.a", True)]
