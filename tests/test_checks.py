"""harness.checks: the decision helpers claims share."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis.errors import UnsatisfiedAssumption

import torch

from harness.contract.checks import decide_all, decide_exponents, decide_probability
from harness.contract.claim import Evidence, undecided


def test_decide_exponents_records_every_fit_then_fails_or_defers():
    x = np.repeat([32.0, 64, 128, 256], 8)
    rng = np.random.default_rng(0)
    y_half = x**-0.5 * np.exp(0.05 * rng.standard_normal(x.size))
    y_noisy = x**-0.5 * np.exp(2.0 * rng.standard_normal(x.size))
    ev = Evidence({})
    decide_exponents(ev, [(x, y_half, -0.5, 0.15, "a", "two-sided"), (x, y_half, -0.5, 0.15, "b", "at_most")])
    assert {"exponent: a", "exponent: b"} <= set(ev.figures)
    ev = Evidence({})
    with pytest.raises(AssertionError, match="b"):  # the failing fit is named, after both were recorded
        decide_exponents(ev, [(x, y_half, -0.5, 0.15, "a", "two-sided"), (x, y_half, -1.0, 0.15, "b", "two-sided")])
    assert {"exponent: a", "exponent: b"} <= set(ev.figures)
    ev = Evidence({})
    with pytest.raises(UnsatisfiedAssumption):  # one undecided fit defers, after the others were recorded
        decide_exponents(ev, [(x, y_noisy, -0.5, 0.15, "c", "two-sided"), (x, y_half, -0.5, 0.15, "d", "two-sided")])
    assert "exponent: d" in ev.figures


def test_decide_all_runs_every_decision_then_fails_with_all_or_defers():
    ran = []

    def ok():
        ran.append("ok")

    def bad(msg):
        def f():
            ran.append(msg)
            raise AssertionError(msg)
        return f

    def later():
        ran.append("later")
        undecided("needs more seeds")

    decide_all(ok, ok)
    with pytest.raises(AssertionError, match="first; second"):
        decide_all(bad("first"), later, bad("second"), ok)
    assert ran[2:] == ["first", "later", "second", "ok"]  # nothing skipped after a failure
    with pytest.raises(UnsatisfiedAssumption, match="needs more seeds"):
        decide_all(ok, later)


def test_decide_probability_bounds_undecided_seeds_from_both_sides():
    def flags(k, n=32):
        return torch.arange(n) < k

    decide_probability(Evidence({}), flags(0), 0.1, "w")  # 0/32 holds
    with pytest.raises(AssertionError, match="12/32"):
        decide_probability(Evidence({}), flags(12), 0.1, "w")
    # 9 seeds the run could not read: neither 0 nor 9 failures decides both ways -> undecided
    unknown = torch.arange(32) >= 23
    with pytest.raises(UnsatisfiedAssumption, match="9 seed"):
        decide_probability(Evidence({}), flags(0), 0.1, "w", unknown=unknown)
    # failures among the readable seeds alone prove the violation
    with pytest.raises(AssertionError, match="12/32"):
        decide_probability(Evidence({}), flags(12), 0.1, "w", unknown=unknown)
    # a single unknown seed in 64 clean ones still holds when counted as a failure
    decide_probability(Evidence({}), flags(0, 64), 0.1, "w", unknown=torch.arange(64) == 63)
    with pytest.raises(ValueError, match="entries"):
        decide_probability(Evidence({}), flags(0), 0.1, "w", unknown=flags(0, 8))
