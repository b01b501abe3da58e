"""Effort profiles: how many examples, seeds and how large the networks are.

``--claims-profile`` picks one. Each profile is also registered as a Hypothesis settings
profile (``theorem-check-<name>``) and loaded explicitly, so Hypothesis's own ``ci`` profile
(auto-loaded when ``CI`` is set) never silently changes the sizes a run checks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from hypothesis import HealthCheck, Phase, settings

from harness.runtime.generation import pin_local_constants

__all__ = ["PROFILES", "Profile", "current_profile", "set_profile"]


@dataclass(frozen=True)
class Profile:
    """Sizes for one effort level. Claims read these instead of hard-coding sizes."""

    name: str
    max_examples: int  #: most Hypothesis examples one claim runs (cheap claims run until their budget is spent)
    replicates: int  #: seeds per example for "with probability >= 1 - delta" claims
    min_n: int  #: smallest dataset (floors keep shrinking away from n=2, d=2)
    max_n: int
    min_d: int
    max_d: int
    steps: int  #: GD steps for rate claims
    width_grid: tuple[int, ...]  #: widths for scaling-law fits (geometric)
    width_multipliers: tuple[int, ...]  #: m = k * n for "practical width" claims
    scaling_seeds: int  #: seeds per width in scaling-law fits
    max_depth: int = 16  #: deepest network for deep-family claims
    deep_width: int = 64  #: width of deep networks in training claims
    train_depth: int = 4  #: deepest network the deep training claims draw (depth 2..train_depth)
    budget_s: float = 5.0  #: seconds of search per claim (see harness.budget)
    min_examples: int = 4  #: fewest examples a claim runs, whatever its cost
    threshold_ns: tuple[int, ...] = (8, 16, 32)  #: the doubling grid of n of the threshold-width law
    description: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        name="quick",
        max_examples=2000,
        budget_s=5.0,
        min_examples=4,
        replicates=32,
        min_n=8,
        max_n=20,
        min_d=5,
        max_d=12,
        steps=300,
        width_grid=(64, 256, 1024, 4096),
        width_multipliers=(2, 4, 8),
        scaling_seeds=4,
        max_depth=16,
        description="CI on 2 CPU cores, minutes: n <= 20, d <= 12, m <= 4096, 300 steps, 32 seeds, 5 s of search a claim.",
    ),
    "standard": Profile(
        name="standard",
        max_examples=5000,
        budget_s=30.0,
        min_examples=12,
        replicates=64,
        min_n=10,
        max_n=60,
        min_d=5,
        max_d=30,
        steps=1000,
        width_grid=(100, 400, 1600, 6400, 25600),
        width_multipliers=(2, 4, 8, 16),
        scaling_seeds=6,
        max_depth=64,
        deep_width=256,
        train_depth=10,
        threshold_ns=(10, 20, 40, 80),
        description="A workstation or one GPU: n <= 60, m <= 25600, 1000 steps, 64 seeds, 30 s of search a claim.",
    ),
    "nightly": Profile(
        name="nightly",
        max_examples=10000,
        budget_s=90.0,
        min_examples=30,
        replicates=128,
        min_n=20,
        max_n=200,
        min_d=10,
        max_d=100,
        steps=2000,
        width_grid=(256, 1024, 4096, 16384, 65536),
        width_multipliers=(2, 4, 8, 16, 32),
        scaling_seeds=8,
        max_depth=128,
        deep_width=1024,
        train_depth=12,
        threshold_ns=(25, 50, 100, 200, 400),
        description="Nightly GPU regression at paper-like sizes: n <= 200, m <= 65536, 2000 steps, 90 s of search a claim (79 claims: under 2 h on one device).",
    ),
}

_current: Profile = PROFILES["quick"]


def _hypothesis_settings(p: Profile) -> settings:
    return settings(
        max_examples=p.max_examples,
        deadline=None,
        # Generation is seeded per claim from (claim id, run seed) by the claim runtime
        # (hypothesis.seed), so one --claims-seed replays exactly and another explores new ground.
        derandomize=False,
        database=None,  # the plugin sets the example database (--claims-db)
        print_blob=True,
        report_multiple_bugs=False,
        phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink),
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.function_scoped_fixture,
        ],
    )


pin_local_constants()  # examples depend on (strategy, claim, run seed), not on what else is imported

for _p in PROFILES.values():
    settings.register_profile(f"theorem-check-{_p.name}", _hypothesis_settings(_p))


def set_profile(name: str) -> Profile:
    """Make ``name`` the current profile and load its Hypothesis settings."""
    global _current
    if name not in PROFILES:
        raise ValueError(f"--claims-profile={name!r} is not one of {', '.join(PROFILES)}.")
    _current = PROFILES[name]
    settings.load_profile(f"theorem-check-{name}")
    return _current


def current_profile() -> Profile:
    """The profile of this session (``quick`` unless the plugin set another)."""
    return _current
