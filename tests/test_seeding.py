"""harness.seeding: seeds derived from names, stable across processes."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

import torch

from harness.runtime.seeding import derive_seed, generator, trial_generators

#: derive_seed("claim", 3, 1), computed once; a change here re-seeds every recorded run
EXPECTED = 3942580445737609358


def test_derive_seed_is_stable():
    assert derive_seed("claim", 3, 1) == EXPECTED
    assert derive_seed("claim", 3, 1) == derive_seed("claim", 3, 1)


def test_derive_seed_is_stable_across_processes():
    code = "from harness.runtime.seeding import derive_seed; print(derive_seed('claim', 3, 1))"
    # a different hash seed must not matter (blake2b of repr, not Python's hash())
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    assert int(out.stdout.strip()) == EXPECTED, (
        f"subprocess gave {out.stdout!r}, stderr {out.stderr[-500:]!r}"
    )


def test_derive_seed_differs_across_parts():
    seeds = {
        derive_seed("claim", 3, 1),
        derive_seed("claim", 3, 2),
        derive_seed("claim", 4, 1),
        derive_seed("claim2", 3, 1),
        derive_seed("claim", "3", 1),
        derive_seed(("claim", 3), 1),
        derive_seed("claim", 3),
        derive_seed(),
    }
    assert len(seeds) == 8, "distinct parts must give distinct seeds"


def test_derive_seed_fits_63_bits():
    for parts in [(), ("a",), ("claim", 0, 0), ("x" * 1000, 2**70, -1.5)]:
        s = derive_seed(*parts)
        assert isinstance(s, int)
        assert 0 <= s < 2**63
    # many seeds use the high bits too (not truncated to 32 bits)
    assert max(derive_seed("hi", i) for i in range(64)) >= 2**62


def test_generator_is_seeded_by_derive_seed():
    g = generator("claim", 3, 1)
    assert isinstance(g, torch.Generator)
    assert g.device.type == "cpu"
    assert g.initial_seed() == EXPECTED
    ref = torch.Generator().manual_seed(EXPECTED)
    assert torch.equal(torch.randn(5, generator=g), torch.randn(5, generator=ref))


def test_trial_generators_give_independent_reproducible_streams():
    gens = trial_generators("claim.x", 7, 4)
    assert len(gens) == 4
    assert [g.initial_seed() for g in gens] == [derive_seed("claim.x", 7, r) for r in range(4)]
    draws = torch.stack([torch.randn(1000, generator=g, dtype=torch.float64) for g in gens])
    # reproducible: fresh generators with the same names give the same draws
    again = torch.stack(
        [
            torch.randn(1000, generator=g, dtype=torch.float64)
            for g in trial_generators("claim.x", 7, 4)
        ]
    )
    assert torch.equal(draws, again)
    # independent: pairwise sample correlations are small (|r| < 5 / sqrt(1000))
    C = torch.corrcoef(draws)
    off = C - torch.diag(torch.diagonal(C))
    assert float(off.abs().max()) < 5 / 1000**0.5, f"streams look correlated: {C}"
    # drawing from one stream does not advance another
    g0, g1 = trial_generators("claim.x", 7, 2)
    torch.randn(10_000, generator=g0)
    assert torch.equal(torch.randn(1000, generator=g1, dtype=torch.float64), draws[1])
    # other example seeds and claim ids give other streams; numpy-like ints are normalized
    other = torch.randn(1000, generator=trial_generators("claim.x", 8, 1)[0], dtype=torch.float64)
    assert not torch.equal(other, draws[0])
    assert trial_generators("claim.x", np.int64(7), 1)[0].initial_seed() == gens[0].initial_seed()


def test_draws_do_not_depend_on_which_modules_are_imported(tmp_path, monkeypatch):
    """Hypothesis's local constant pool is pinned (on importing harness.runtime.profiles, which the
    plugin and the package import): importing a module full of literals between two in-process runs
    of one seed leaves the drawn examples as they were. tests/test_search.py checks the same across
    processes."""
    import importlib

    from hypothesis import given, seed, settings, strategies as st

    from harness.runtime.generation import local_constants_pinned

    assert local_constants_pinned(), "harness.runtime.generation could not pin Hypothesis's local constant pool"

    def draws():
        seen = []

        @seed(12345)
        @settings(max_examples=500, database=None, derandomize=False)
        @given(st.integers(), st.floats(allow_nan=False))
        def probe(i, f):
            seen.append((i, f))

        probe()
        return seen

    before = draws()
    # a few hundred literals (Hypothesis skips a module with over 1024, and integers within +-100),
    # spread over the values it draws, so that its sorted pool shifts everywhere
    literals = ", ".join([str(s * (7 * k + 103)) for k in range(100) for s in (1, -1)]
                         + [repr(s * (0.37 * k + 0.011)) for k in range(100) for s in (1, -1)])
    (tmp_path / "lots_of_literals_xyz.py").write_text(f"VALUES = ({literals})\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module("lots_of_literals_xyz")
    from hypothesis.internal.conjecture import providers

    assert len(providers._get_local_constants()) == 0  # the pool Hypothesis draws local constants from
    assert draws() == before
