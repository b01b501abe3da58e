"""harness.problems: geometries, labels, determinism and validation of ProblemSpec."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from harness.data.problems import GEOMETRIES, LABELS, Problem, ProblemSpec, unit_rows

F64 = torch.float64


def _spec(geometry: str, **kw) -> ProblemSpec:
    d = 2 if geometry == "circle" else kw.pop("d", 4)
    return ProblemSpec(n=kw.pop("n", 8), d=d, geometry=geometry, **kw)


def _angle(u: torch.Tensor, v: torch.Tensor) -> float:
    """Angle between unit vectors, accurate near 0 and pi."""
    return 2 * math.atan2(float((u - v).norm()), float((u + v).norm()))


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_every_geometry_builds_unit_rows(geometry):
    p = _spec(geometry).build()
    assert isinstance(p, Problem)
    assert p.X.dtype == F64
    assert p.y.dtype == F64
    assert p.X.shape == (p.n, p.d)
    assert p.y.shape == (p.n,)
    norms = p.X.norm(dim=1)
    torch.testing.assert_close(norms, torch.ones(p.n, dtype=F64), rtol=0, atol=1e-14)
    assert torch.isfinite(p.X).all()
    assert torch.isfinite(p.y).all()


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("labels", ["gaussian", "sign", "teacher", "teacher_linear"])
def test_build_is_deterministic(geometry, labels):
    spec = _spec(geometry, labels=labels, seed=17)
    a, b = spec.build(), ProblemSpec(**spec.to_dict()).build()
    assert torch.equal(a.X, b.X), "the same spec must build identical inputs"
    assert torch.equal(a.y, b.y), "the same spec must build identical labels"
    assert a.spec == spec


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_different_seeds_differ(geometry):
    a, b = _spec(geometry, seed=0).build(), _spec(geometry, seed=1).build()
    if geometry == "circle":  # inputs are fixed by n; only the labels are random
        assert torch.equal(a.X, b.X)
    else:
        assert not torch.equal(a.X, b.X), "different seeds must give different inputs"
    assert not torch.equal(a.y, b.y), "different seeds must give different labels"


def test_other_fields_change_the_draw():
    base = ProblemSpec(n=6, d=3, seed=4)
    assert not torch.equal(base.build().X, ProblemSpec(n=6, d=3, seed=4, labels="sign").build().X)
    assert not torch.equal(base.build().X, ProblemSpec(n=7, d=3, seed=4).build().X[:6])


@pytest.mark.parametrize("angle", [0.3, 0.05, 1e-3, 1e-6])
@pytest.mark.parametrize("seed", [0, 5])
def test_near_parallel_angle(angle, seed):
    p = ProblemSpec(n=6, d=5, geometry="near_parallel", angle=angle, seed=seed).build()
    got = _angle(p.X[0], p.X[1])
    assert abs(got - angle) < 1e-12, f"angle(x0, x1) = {got!r}, asked for {angle!r}"
    # |x0 - x1| = 2 sin(t/2) bounds the minimum pairwise distance
    assert p.min_separation() <= 2 * math.sin(angle / 2) + 1e-12


def test_antiparallel_and_duplicate():
    p = ProblemSpec(n=6, d=4, geometry="antiparallel", seed=2).build()
    assert torch.equal(p.X[1], -p.X[0]), "antiparallel: x1 must be exactly -x0"
    q = ProblemSpec(n=6, d=4, geometry="duplicate", seed=2).build()
    assert torch.equal(q.X[5], q.X[0]), "duplicate: x_{n-1} must be exactly x_0"
    assert q.min_separation() == 0.0
    assert abs(q.lambda0) < 1e-12
    assert p.lambda0 > 1e-2


@pytest.mark.parametrize(("n", "d", "delta"), [(8, 4, 0.3), (10, 5, 0.8), (6, 3, 1.0)])
def test_separated_respects_delta(n, d, delta):
    p = ProblemSpec(n=n, d=d, geometry="separated", delta=delta, seed=3).build()
    assert p.min_separation() >= delta, f"min separation {p.min_separation():.4f} < delta={delta}"


def test_separated_impossible_raises():
    # 5 points on the circle S^1 cannot be pairwise 1.9 apart (the pentagon side is 1.18)
    with pytest.raises(ValueError, match="could not place"):
        ProblemSpec(n=5, d=2, geometry="separated", delta=1.9).build()


@pytest.mark.parametrize("n", [3, 8, 12])
def test_circle_is_equispaced(n):
    p = ProblemSpec(n=n, d=2, geometry="circle", seed=9).build()
    t = torch.arange(n, dtype=F64) * (2 * math.pi / n)
    torch.testing.assert_close(p.X, torch.stack([t.cos(), t.sin()], dim=1), rtol=0, atol=1e-15)
    gaps = [_angle(p.X[i], p.X[(i + 1) % n]) for i in range(n)]
    np.testing.assert_allclose(gaps, 2 * math.pi / n, rtol=0, atol=1e-12)


@pytest.mark.parametrize("geometry", ["sphere", "near_parallel", "separated", "circle"])
def test_sign_and_teacher_labels(geometry):
    s = _spec(geometry, labels="sign", seed=11).build()
    assert set(s.y.tolist()) <= {-1.0, 1.0}
    t = _spec(geometry, labels="teacher", n=12, seed=11).build()
    assert set(t.y.tolist()) <= {-1.0, 1.0}
    lin = _spec(geometry, labels="teacher_linear", seed=11).build()
    # v^T x sqrt(d) with unit v, x: bounded by sqrt(d)
    assert float(lin.y.abs().max()) <= math.sqrt(lin.d) + 1e-12


def test_sign_labels_take_both_values():
    ys = torch.cat([ProblemSpec(n=12, d=3, labels="sign", seed=s).build().y for s in range(3)])
    assert set(ys.tolist()) == {-1.0, 1.0}


def test_teacher_labels_are_a_halfspace():
    # sign(v^T x) labels are linearly separable through the origin (an LP feasibility check)
    p = ProblemSpec(n=12, d=6, labels="teacher", seed=1).build()
    X, y = p.X.numpy(), p.y.numpy()
    from scipy.optimize import linprog

    res = linprog(
        np.zeros(p.d), A_ub=-(y[:, None] * X), b_ub=-np.ones(p.n), bounds=[(-1e6, 1e6)] * p.d
    )
    assert res.status == 0, "teacher labels must be linearly separable through the origin"


@pytest.mark.parametrize("seed", range(5))
def test_conflicting_labels(seed):
    p = ProblemSpec(n=6, d=3, geometry="duplicate", labels="conflicting", seed=seed).build()
    assert torch.equal(p.X[5], p.X[0])
    assert float(p.y[5]) == -float(p.y[0])
    assert abs(float(p.y[0])) >= 0.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n": 1, "d": 3}, "n >= 2"),
        ({"n": 4, "d": 0}, "d >= 1"),
        ({"n": 4, "d": 3, "geometry": "torus"}, "geometry 'torus' is not one of"),
        ({"n": 4, "d": 3, "labels": "random"}, "labels 'random' is not one of"),
        ({"n": 4, "d": 3, "labels": "conflicting"}, "needs geometry='duplicate'"),
        (
            {"n": 4, "d": 3, "geometry": "sphere", "labels": "conflicting"},
            "needs geometry='duplicate'",
        ),
        ({"n": 4, "d": 3, "geometry": "circle"}, "needs d=2"),
        ({"n": 4, "d": 1, "geometry": "near_parallel"}, "needs d >= 2"),
        ({"n": 4, "d": 1, "geometry": "antiparallel"}, "needs d >= 2"),
    ],
)
def test_spec_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ProblemSpec(**kwargs)


def test_spec_is_printable_and_round_trips():
    spec = ProblemSpec(n=5, d=3, geometry="near_parallel", labels="teacher", seed=7, angle=0.25)
    d = spec.to_dict()
    assert d == {
        "n": 5,
        "d": 3,
        "geometry": "near_parallel",
        "labels": "teacher",
        "seed": 7,
        "angle": 0.25,
        "delta": 0.3,
        "pairs": 0,
    }
    assert ProblemSpec(**d) == spec
    assert "near_parallel" in repr(spec)
    assert set(GEOMETRIES) >= {"sphere", "circle"}
    assert "conflicting" in LABELS


def test_problem_summary_and_properties():
    p = ProblemSpec(n=6, d=3, seed=1).build()
    evals, _ = p.hinf_eigh
    assert p.lambda0 == float(evals[0])
    assert p.lambda_max == float(evals[-1])
    assert 0 < p.lambda0 <= p.lambda_max
    s = p.summary()
    for key in ("n", "d", "geometry", "seed", "lambda0", "lambda_max", "y_norm", "min_separation"):
        assert key in s
    assert s["y_norm"] == pytest.approx(float(p.y.norm()))
    # a Problem without a spec still summarises
    bare = Problem(
        X=unit_rows(torch.randn(4, 3, dtype=F64, generator=torch.Generator().manual_seed(0))),
        y=torch.zeros(4, dtype=F64),
    )
    assert bare.summary()["n"] == 4
    assert bare.spec is None


def test_unit_rows():
    X = torch.tensor([[3.0, 4.0], [0.0, -2.0]], dtype=F64)
    torch.testing.assert_close(unit_rows(X), torch.tensor([[0.6, 0.8], [0.0, -1.0]], dtype=F64))


def test_equal_specs_build_identical_data():
    pairs = [
        (ProblemSpec(n=4, d=3, seed=0), ProblemSpec(n=4, d=3, seed=np.int64(0))),
        (
            ProblemSpec(n=4, d=3, geometry="near_parallel", angle=0.1),
            ProblemSpec(n=4, d=3, geometry="near_parallel", angle=np.float64(0.1)),
        ),
        (ProblemSpec(n=4, d=3, delta=1), ProblemSpec(n=4, d=3, delta=1.0)),
    ]
    for a, b in pairs:
        assert a == b
        assert hash(a) == hash(b)
        assert torch.equal(a.build().X, b.build().X), (
            f"{a} and {b} are equal specs but build different X"
        )


def test_depths_are_read_from_the_profile_at_draw_time():
    from hypothesis import given, settings

    from harness.runtime.profiles import current_profile, set_profile
    from harness.data.strategies import depths

    strategy = depths()  # built once, like a claim's @given at import
    before = current_profile().name
    try:
        for name, hi in (("quick", 4), ("standard", 10)):
            set_profile(name)
            seen: set[int] = set()

            @settings(max_examples=60, database=None, derandomize=True)
            @given(h=strategy)
            def draw(h):
                seen.add(h)  # noqa: B023 (draw runs before the next iteration rebinds seen)

            draw()
            assert min(seen) >= 2 and max(seen) <= hi
            if name == "standard":
                assert max(seen) > 4
    finally:
        set_profile(before)


def test_problems_strategy_draws_near_parallel_angles_from_min_angle():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from harness.data.strategies import problems

    seen = []

    @settings(max_examples=40, database=None, derandomize=True)
    @given(spec=problems(geometries=("near_parallel",), min_angle=0.35))
    def draw(spec):
        seen.append(spec.angle)

    draw()
    assert seen and min(seen) >= 0.35 and max(seen) <= 0.5
    import pytest

    with pytest.raises(ValueError, match="min_angle"):
        st.lists(problems(min_angle=0.0)).example()
