"""Training the deep families (:mod:`harness.networks.deep`): :func:`train_deep` and its trajectory.

GD (full batch) or SGD (``batch_size``, minibatches drawn per trial from the trial's own generator)
with autograd on L = 1/2 sum_i (f(x_i) - y_i)^2 or the summed softmax cross-entropy, per trial:
trials are independent, so the gradient of the sum over trials is each trial's own. ``alpha`` and
``center`` give Chizat et al.'s lazy-training objective F(theta) = R(alpha (f(theta) - f(theta_0))) / alpha^2.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch

from ..networks.deep import DeepNet
from ..runtime.chunks import run_in_chunks
from .trajectory import FLOOR_REL, BoundCheck, check_rate_bound

__all__ = ["DeepTrajectory", "train_deep"]


@dataclass
class DeepTrajectory:
    """Loss per step and weight movement of T trials of a deep family (see :func:`train_deep`)."""

    model: DeepNet
    loss: torch.Tensor  #: [T, K+1], the full-batch training objective at every step
    diverged: torch.Tensor  #: [T]
    dtype: torch.dtype = torch.float64
    rel_change: dict[str, torch.Tensor] = field(default_factory=dict)  #: ||theta_K - theta_0|| / ||theta_0|| per tensor, [T]
    params0: dict[str, torch.Tensor] | None = None
    paramsK: dict[str, torch.Tensor] | None = None
    seconds: float = 0.0
    accuracy: torch.Tensor | None = None  #: [T, K+1] training accuracy (cross-entropy runs)
    movement: torch.Tensor | None = None  #: [T, K+1] ||theta(k) - theta(0)|| over all trained tensors (track_movement)
    outputs: torch.Tensor | None = None  #: [T, K+1, n(, c)] the model's outputs at every step (keep_outputs)
    chunk_trials: int = 0  #: how many trials trained at once (the last chunk may hold fewer)
    chunking: str = ""  #: why that many: the rule and its numbers, or "chunk_trials=N (given)"

    @property
    def trials(self) -> int:
        return int(self.loss.shape[0])

    @property
    def steps(self) -> int:
        return int(self.loss.shape[1]) - 1

    @property
    def floor_rel(self) -> float:
        return FLOOR_REL[self.dtype]

    def rel_loss(self) -> torch.Tensor:
        return self.loss / self.loss[:, :1]

    def check_rate_bound(self, per_step: torch.Tensor | float, tol: float = 1e-9) -> BoundCheck:
        return check_rate_bound(self.loss, per_step, self.floor_rel, tol)

    def steps_to(self, rel: float) -> torch.Tensor:
        """First step k with L(k) <= rel L(0), per trial (float; inf where never reached)."""
        hit = self.rel_loss() <= rel
        first = torch.where(hit.any(dim=1), hit.to(torch.int64).argmax(dim=1).to(torch.float64), torch.tensor(float("inf")))
        return first


#: Bytes of parameters one chunk of trials may stack on a CPU (the weights, their gradients and the
#: update each pass over them every step). bench_deep.py measured (2 cores, float64, n = 20, depth
#: 4): batching pays while the stacked weights fit in cache (fc m = 64: 8 trials at once 3-4x faster
#: per trial than one; m = 256, 1.5 MB a trial: 1.2-1.4x) and costs beyond it (m = 1024, 25 MB a
#: trial: 4 at once up to 1.4x slower than one at a time). A GPU stacks every trial.
CPU_CHUNK_BYTES = 4 << 20


def default_chunk_trials(params: dict[str, torch.Tensor], T: int, device: str, dtype: torch.dtype) -> tuple[int, str, bool]:
    """How many trials :func:`train_deep` trains at once when ``chunk_trials`` is not given, why,
    and whether the chunks run side by side on the CPU's threads.

    CPU: as many as keep the stacked parameters within ``CPU_CHUNK_BYTES`` (at least one). Chunks
    that fit run side by side, one per torch thread; a trial larger than the budget runs alone with
    every thread on its products (two such trials side by side were measured 1.2x slower: they share
    the memory bus). GPU: all of them. The rule depends only on the sizes, never on a timing, so a
    run gives the same numbers every time.
    """
    per_trial = sum(v[0].numel() for v in params.values()) * torch.finfo(dtype).bits // 8
    if not str(device).startswith("cpu"):
        return T, f"all {T} trials at once on {device}", False
    per = max(1, min(T, CPU_CHUNK_BYTES // max(1, per_trial)))
    fits = per_trial <= CPU_CHUNK_BYTES
    return per, (
        f"{per} trial(s) at once on the CPU{', chunks side by side on the threads' if fits and per < T else ''}: "
        f"{per_trial / 2**20:.2f} MiB of parameters a trial, chunks of at most {CPU_CHUNK_BYTES / 2**20:g} MiB "
        "(harness.training.deep_engine.CPU_CHUNK_BYTES)"
    ), fits


def _objective(
    model: DeepNet, p: dict[str, torch.Tensor], X: torch.Tensor, y: torch.Tensor, loss: str, alpha: float, f0: torch.Tensor | None,
    taps: list | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-trial objective R(alpha (f - f0)) / alpha^2 and the model's outputs alpha (f - f0)."""
    u = model.forward(p, X, taps=taps)
    if f0 is not None:
        u = u - f0
    u = alpha * u
    if loss == "mse":
        r = u - y
        obj = 0.5 * (r * r).flatten(1).sum(dim=1)
    else:
        T, n, c = u.shape
        obj = torch.nn.functional.cross_entropy(u.reshape(T * n, c), y.expand(T, n).reshape(-1), reduction="none").view(T, n).sum(dim=1)
    return obj / alpha**2, u


def train_deep(
    model: DeepNet,
    params: dict[str, torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    eta: float | torch.Tensor,
    device: str = "cpu",
    dtype: torch.dtype = torch.float64,
    keep_params: bool = False,
    loss: Literal["mse", "ce"] = "mse",
    batch_size: int | None = None,
    batch_generators: Sequence[torch.Generator] | None = None,
    alpha: float = 1.0,
    center: bool = False,
    track_movement: bool = False,
    keep_outputs: bool = False,
    stop_below: float | None = None,
    chunk_trials: int | None = None,
) -> DeepTrajectory:
    """GD or SGD with autograd for every trial; divergence (non-finite or 1e20 x L(0)) is an outcome.

    * ``loss="mse"``: R(u) = 1/2 sum_i (u_i - y_i)^2; ``loss="ce"``: summed softmax cross-entropy with
      integer labels y (needs ``model.outputs >= 2``); the accuracy is recorded at every step.
    * ``batch_size`` b < n: SGD; each step every trial draws b distinct examples from its own generator
      in ``batch_generators`` and steps along (n / b) x the minibatch gradient (unbiased for the full
      gradient). ``loss`` records the full-batch objective at every step.
    * ``alpha``, ``center``: the objective R(alpha (f(theta) - f(theta_0))) / alpha^2 of Chizat et al.
      (``center=False``: R(alpha f(theta)) / alpha^2).
    * ``stop_below``: stop early once every live trial has L(k) <= stop_below x L(0) (the records then
      end at that step; :meth:`DeepTrajectory.steps_to` is unaffected for thresholds >= stop_below).
    * ``chunk_trials``: train at most this many trials at once. By default :func:`default_chunk_trials`
      chooses by size and device (all at once on a GPU; on a CPU as many as fit a cache-sized budget,
      the chunks side by side on torch's threads); the trajectory's ``chunk_trials`` and ``chunking``
      say what was chosen and why. A chunk that
      runs out of GPU memory is halved and redone (:func:`harness.chunks.run_in_chunks`), its SGD
      generators rewound. Trials are independent, so the numbers do not depend on the chunking; with
      ``stop_below``, chunks run to the end, and are then run again to the first step where every
      trial is done (where one batch would have stopped), so records and parameters match too.
    """
    T = next(iter(params.values())).shape[0]
    n = X.shape[0]
    if loss not in ("mse", "ce"):
        raise ValueError(f"loss {loss!r} is not one of mse, ce")
    if loss == "ce" and model.outputs < 2:
        raise ValueError("cross-entropy needs a model with outputs >= 2")
    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    sgd = batch_size is not None and batch_size < n
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if sgd and (batch_generators is None or len(batch_generators) != T):
        raise ValueError(f"SGD (batch_size={batch_size} < n={n}) needs one batch generator per trial ({T})")
    eta_all = torch.as_tensor(eta, dtype=torch.float64).flatten()
    if eta_all.numel() not in (1, T):
        raise ValueError(f"eta has {eta_all.numel()} entries for {T} trials")
    eta_all = eta_all.expand(T)
    if chunk_trials is not None and chunk_trials < 1:
        raise ValueError(f"chunk_trials must be >= 1, got {chunk_trials}")
    gens = list(batch_generators) if sgd else None
    opts = dict(device=device, dtype=dtype, loss=loss, batch_size=batch_size if sgd else None, alpha=alpha, center=center,
                keep_params=keep_params, track_movement=track_movement, keep_outputs=keep_outputs)
    t0 = time.perf_counter()

    def chunked(steps_: int, stop: float | None, per: int) -> list[DeepTrajectory]:
        def run(lo: int, hi: int) -> DeepTrajectory:
            g = gens[lo:hi] if gens else None
            saved = [x.get_state() for x in g] if g else []
            try:
                return _train_deep_chunk(
                    model, {k: v[lo:hi] for k, v in params.items()}, X, y, steps=steps_, eta=eta_all[lo:hi],
                    batch_generators=g, stop_below=stop if hi - lo == T else None, **opts,
                )
            except torch.OutOfMemoryError:
                for x, st in zip(g or [], saved, strict=True):
                    x.set_state(st)  # the slice is redone: it must draw the same minibatches again
                raise

        return run_in_chunks(T, per, run, device=device, spread=spread)

    if chunk_trials is None:
        per, why, spread = default_chunk_trials(params, T, device, dtype)
    else:
        per, why, spread = min(T, chunk_trials), f"chunk_trials={chunk_trials} (given)", False
    start = [g.get_state() for g in gens] if gens else []
    parts = chunked(steps, stop_below, per)
    if stop_below is not None and len(parts) > 1:
        # Chunks (chosen, or forced by running out of memory) run without stopping early, since each
        # would stop at its own step. Find the first step where every trial is done, as one batch
        # would have stopped, and run every chunk again to exactly that step.
        k = _joint_stop(torch.cat([p.loss for p in parts]), stop_below)
        if k < steps:
            for g, st in zip(gens or [], start, strict=True):
                g.set_state(st)
            parts = chunked(k, None, parts[0].trials)
    traj = parts[0] if len(parts) == 1 else _concat(parts)
    traj.seconds = time.perf_counter() - t0
    traj.chunk_trials = max(p.trials for p in parts)
    traj.chunking = why if traj.chunk_trials == per else f"{why}; halved to {traj.chunk_trials} after running out of memory"
    return traj


def _joint_stop(loss: torch.Tensor, stop_below: float) -> int:
    """The first step k where every trial has L(k) <= stop_below L(0) or has diverged (else the last)."""
    L0 = loss[:, :1].clamp_min(torch.finfo(torch.float64).tiny)
    done = ((loss <= stop_below * L0) | ~torch.isfinite(loss)).all(dim=0)
    return int(done.to(torch.int64).argmax()) if bool(done.any()) else loss.shape[1] - 1


def _concat(parts: list[DeepTrajectory]) -> DeepTrajectory:
    """One trajectory from the trajectories of consecutive chunks of trials (same steps)."""

    def cat(xs):
        return None if xs[0] is None else torch.cat(xs)

    def cat_dict(ds):
        return None if ds[0] is None else {k: torch.cat([d[k] for d in ds]) for k in ds[0]}

    first = parts[0]
    return DeepTrajectory(
        model=first.model,
        loss=cat([p.loss for p in parts]),
        diverged=cat([p.diverged for p in parts]),
        dtype=first.dtype,
        rel_change=cat_dict([p.rel_change for p in parts]),
        params0=cat_dict([p.params0 for p in parts]),
        paramsK=cat_dict([p.paramsK for p in parts]),
        accuracy=cat([p.accuracy for p in parts]),
        movement=cat([p.movement for p in parts]),
        outputs=cat([p.outputs for p in parts]),
    )


def _train_deep_chunk(
    model: DeepNet,
    params: dict[str, torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    eta: torch.Tensor,
    device: str,
    dtype: torch.dtype,
    keep_params: bool,
    loss: str,
    batch_size: int | None,
    batch_generators: Sequence[torch.Generator] | None,
    alpha: float,
    center: bool,
    track_movement: bool,
    keep_outputs: bool,
    stop_below: float | None,
) -> DeepTrajectory:
    """:func:`train_deep` on one chunk of trials, all of them on the device at once."""
    T = next(iter(params.values())).shape[0]
    n = X.shape[0]
    sgd = batch_size is not None
    on_cpu = str(device).startswith("cpu")
    eta_t = eta.to(device=device, dtype=dtype).clone()
    # the initial parameters are only read (the trained leaves are copies): a copy is made only to be returned
    p0 = {k: v.to(device=device, dtype=dtype) for k, v in params.items()}
    if keep_params:
        p0 = {k: v.clone() if v.data_ptr() == params[k].data_ptr() else v for k, v in p0.items()}
    # The stacked hidden layers "W" [T, H, m, m] train as one tensor per layer: the gradient of a
    # stacked leaf would be assembled by a copy of all layers every step (as costly as the matmuls
    # at small n). The forward pass takes either form; the trajectory returns the stacked one.
    # Autograd stops at each linear layer's output (the model's taps: z = x_in W^T, or W x_in for
    # cnn_resnet's convolutions) and W is updated in place, W -= (eta dL/dz)^T x_in in one GEMM
    # that reads and writes W once; autograd would write dL/dW, then the update read W and dL/dW
    # and write W, twice the weight traffic of a step that is memory-bound at large m. The output
    # layer trains as an autograd leaf.
    dense = {"W1", "W"}
    trained = {nm: [w.clone() for w in p0[nm].unbind(1)] if nm == "W" else [p0[nm].clone()] for nm in p0}
    leaves = [t for nm in model.trainable if nm not in dense for t in trained[nm]]
    n_dense = sum(len(trained[nm]) for nm in model.trainable if nm in dense)
    moving = [t for nm in model.trainable for t in trained[nm]]
    moving0 = [w for nm in model.trainable for w in (p0[nm].unbind(1) if nm == "W" else [p0[nm]])]
    for t in leaves:
        t.requires_grad_(True)
    p = {nm: ts if nm == "W" else ts[0] for nm, ts in trained.items()}
    Xd = X.to(device=device, dtype=dtype)
    yd = y.to(device=device, dtype=torch.int64 if loss == "ce" else dtype)
    with torch.no_grad():
        f0 = model.forward(p, Xd) if center else None
    alive = torch.ones(T, dtype=torch.bool, device=device)
    losses = torch.empty(T, steps + 1, dtype=dtype, device=device)
    acc = torch.empty(T, steps + 1, dtype=dtype, device=device) if loss == "ce" else None
    move = torch.zeros(T, steps + 1, dtype=dtype, device=device) if track_movement else None
    outs = [] if keep_outputs else None
    L0 = None
    t0 = time.perf_counter()
    for k in range(steps + 1):
        taps: list | None = None if sgd else []
        full, u = _objective(model, p, Xd, yd, loss, alpha, f0, taps)
        if k == 0:
            L0 = full.detach().clamp_min(torch.finfo(dtype).tiny)
        bad = alive & ~(torch.isfinite(full.detach()) & (full.detach() <= 1e20 * L0))
        alive = alive & ~bad
        losses[:, k] = torch.where(alive, full.detach(), torch.full_like(L0, float("inf")))
        if acc is not None:
            acc[:, k] = (u.detach().argmax(dim=2) == yd).to(dtype).mean(dim=1)
        if move is not None and k > 0:
            move[:, k] = torch.sqrt(sum(((a.detach() - b).flatten(1) ** 2).sum(dim=1) for a, b in zip(moving, moving0, strict=True)))
        if outs is not None:
            outs.append(u.detach().cpu())
        if k == steps or (stop_below is not None and bool(torch.all(~alive | (losses[:, k] <= stop_below * L0)))):
            losses, acc, move = (None if r is None else r[:, : k + 1] for r in (losses, acc, move))
            break
        if sgd:
            idx = torch.stack([torch.randperm(n, generator=g)[:batch_size] for g in batch_generators]).to(device)
            Xb = Xd[idx]  # [T, b, d]
            yb = torch.gather(yd.expand(T, n), 1, idx)
            f0b = None if f0 is None else f0[torch.arange(T, device=device).unsqueeze(1), idx]
            taps = []
            obj = _objective(model, p, Xb, yb, loss, alpha, f0b, taps)[0] * (n / batch_size)
        else:
            obj = full
        if len(taps) != n_dense:  # a dense weight the model did not tap would silently not train
            raise RuntimeError(f"{model.family}: the forward pass tapped {len(taps)} layers, {n_dense} are trained in place")
        grads = torch.autograd.grad(obj.sum(), leaves + [tap[3] for tap in taps])
        with torch.no_grad():
            step = torch.where(alive, eta_t, torch.zeros_like(eta_t))
            # A dead trial's non-finite gradient is zeroed (its step is 0, but nan * 0 is nan). That is
            # a pass over all the gradients, ~1/8 of a step at m = 1024 on a CPU, where knowing that
            # no trial is dead costs nothing: the pass is made only when one is (nan_to_num is the
            # identity on a live trial's finite gradient). A GPU makes it always (no sync per step).
            clean = on_cpu and bool(alive.all())
            for t, g in zip(leaves, grads[: len(leaves)], strict=True):
                t.addcmul_(g if clean else g.nan_to_num_(), step.view((T,) + (1,) * (g.dim() - 1)), value=-1)
            for (name, layer, x_in, _, left), G in zip(taps, grads[len(leaves):], strict=True):
                Gs = G * (-step).view(T, 1, 1)
                x_in = x_in.detach()
                if not clean:  # a dead trial's step is 0: its update must be 0, not 0 * inf = nan
                    Gs.nan_to_num_()
                    x_in = x_in.nan_to_num()
                W = trained[name][layer if layer is not None else 0]
                W.baddbmm_(Gs, x_in.transpose(1, 2)) if left else W.baddbmm_(Gs.transpose(1, 2), x_in)
        # freed now, not when the next step's replace them: the allocator then hands the same
        # memory back, where holding both sets made it map fresh pages every step
        del grads, obj, full, u, taps
    with torch.no_grad():
        # layer by layer, so nothing of the size of all the weights is stacked unless it is returned
        rel = {}
        for nm in model.trainable:
            ref = p0[nm].unbind(1) if nm == "W" else [p0[nm]]
            now = trained[nm]
            dims = tuple(range(1, ref[0].dim()))
            moved = sum(torch.linalg.vector_norm(a - b, dim=dims) ** 2 for a, b in zip(now, ref, strict=True))
            size = sum(torch.linalg.vector_norm(b, dim=dims) ** 2 for b in ref)
            rel[nm] = (moved.sqrt() / size.sqrt()).cpu().to(torch.float64)
        pK = None
        if keep_params:
            pK = {nm: torch.stack([t.detach() for t in ts], dim=1) if nm == "W" else ts[0].detach() for nm, ts in trained.items()}
    return DeepTrajectory(
        model=model,
        loss=losses.cpu().to(torch.float64),
        diverged=~alive.cpu(),
        dtype=dtype,
        rel_change=rel,
        params0={k: v.cpu() for k, v in p0.items()} if keep_params else None,
        paramsK={k: v.cpu() for k, v in pK.items()} if pK is not None else None,
        seconds=time.perf_counter() - t0,
        accuracy=None if acc is None else acc.cpu().to(torch.float64),
        movement=None if move is None else move.cpu().to(torch.float64),
        outputs=None if outs is None else torch.stack(outs, dim=1).to(torch.float64),
    )
