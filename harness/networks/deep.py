"""Deep model families, batched over trials, and their empirical NTK (torch.func).

Families (parameters of T trials stacked along a leading axis; each trial draws from its own
``torch.Generator``; inputs X are [n, d] with unit rows):

* ``fc`` -- Du, Lee, Li, Wang, Zhai 2019 (arXiv:1811.03804), fully connected:
  x^(0) = x, x^(h) = sqrt(c_sigma / m) sigma(W^(h) x^(h-1)) for h = 1..H, f = a^T x^(H);
  every W^(h) and a entry N(0, 1); all layers trained. c_sigma = 1 / E_{z~N(0,1)}[sigma(z)^2].
* ``resnet`` -- the same paper's ResNet: x^(1) as above, then
  x^(h) = x^(h-1) + (c_res / (H sqrt(m))) sigma(W^(h) x^(h-1)) for h = 2..H.
* ``he`` -- Allen-Zhu, Li, Song 2019 (arXiv:1811.03962): h_0 = relu(A x), h_l = relu(W_l h_{l-1})
  for l = 1..L, f = B h_L; A, W_l ~ N(0, 2/m) entrywise (He init), B ~ N(0, 1); A and B fixed,
  only W_1..W_L trained. ``init_variance`` (2 by default) is the numerator of the init variance:
  1 gives the vanishing and 4 the exploding signal of the catalogue's negative controls.
* ``cnn_resnet`` -- DLLWZ Section 7 (Theorem 7.1), the convolutional ResNet, 1-D: an input is a
  signal x in R^{d0 x p} (d0 = ``channels_in`` channels, p positions); phi(.) stacks, for every
  position j, the q = ``patch`` columns x[:, j-(q-1)/2], ..., x[:, j+(q-1)/2] (zero padding, stride 1)
  into a column of length q d0, so phi(x) is [q d0, p];
  x^(1) = sqrt(c_sigma / m) sigma(W^(1) phi(x)) in R^{m x p} (W^(1) is [m, q d0]),
  x^(h) = x^(h-1) + (c_res / (H sqrt(m))) sigma(W^(h) phi(x^(h-1))) for h = 2..H (W^(h) is [m, q m]),
  f = <a, x^(H)> = sum_{r, j} a_rj x^(H)_rj with a in R^{m x p}; every entry N(0, 1), all layers
  trained. The width m is the number of channels. Data: a row x_i of X [n, d] is the signal
  x_i.view(d0, p) (channel-major, d = d0 p), so unit rows are exactly the paper's ||x_i||_F = 1 and
  the same X serves every family; with the default d0 = 1 a row is a 1-channel signal of p = d
  positions. p is fixed at :meth:`DeepNet.init` (from d) and checked against X in the forward pass.
  Batched over trials as a (q m) x (n p) matrix product per trial (patches unfolded by shifted
  slices), so ``torch.func`` (vmap / jacrev) goes through it unchanged.

Options shared by the families: ``outputs`` > 1 gives a vector output (a is [m, outputs], [m, p, outputs]
for ``cnn_resnet``; for ``he`` B is [outputs, m] with entries N(0, 1/outputs), as in the paper); ``output_scaling="mean_field"``
multiplies the output by 1/sqrt(m) (the mean-field 1/m normalization of the last layer, the
negative control of the linearization claims).

Training them is :func:`harness.training.deep_engine.train_deep`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch.func import jacrev, vmap

from ..runtime.chunks import run_in_chunks
from ..kernels.infinite_width import ACTIVATIONS, c_sigma, fc_kernels, resnet_kernels

__all__ = ["C_SIGMA", "FAMILIES", "DeepNet", "activation", "analytic_ntk", "empirical_ntk", "he_forward_norms", "he_signal_norms", "layerwise_ntk"]

Family = Literal["fc", "resnet", "he", "cnn_resnet"]
FAMILIES: tuple[str, ...] = ("fc", "resnet", "he", "cnn_resnet")

#: 1 / E[sigma(z)^2], z ~ N(0, 1) (DLLWZ Sec. 5), by Gauss-Hermite quadrature (relu: exactly 2;
#: softplus 1.0854870, tanh 2.5361755, gelu 2.3489...; catalogue 1.5).
C_SIGMA = {name: c_sigma(name) for name in ACTIVATIONS}


def activation(name: str):
    """The activation as a torch function."""
    acts = {
        "relu": torch.relu,
        "softplus": torch.nn.functional.softplus,
        "tanh": torch.tanh,
        "gelu": torch.nn.functional.gelu,
    }
    if name not in acts:
        raise ValueError(f"activation {name!r} is not one of {', '.join(acts)}")
    return acts[name]


@dataclass(frozen=True)
class DeepNet:
    """A deep family: ``family`` in fc | resnet | he | cnn_resnet, width m (channels for cnn_resnet),
    depth H (hidden layers)."""

    family: Family
    width: int
    depth: int
    activation: str = "softplus"
    c_res: float = 0.1
    init_variance: float = 2.0  #: for ``he``: entries of A, W_l ~ N(0, init_variance / m)
    outputs: int = 1  #: output dimension (> 1 for classification)
    output_scaling: Literal["ntk", "mean_field"] = "ntk"  #: mean_field multiplies the output by 1/sqrt(m)
    channels_in: int = 1  #: cnn_resnet: input channels d0; an input row of length d is x.view(d0, d / d0)
    patch: int = 3  #: cnn_resnet: patch size q (odd; zero padding (q - 1) / 2 each side, stride 1)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"family {self.family!r} is not one of {', '.join(FAMILIES)}")
        if self.width < 1 or self.depth < 1:
            raise ValueError(f"width and depth must be >= 1, got {self.width}, {self.depth}")
        if self.family == "he" and self.activation != "relu":
            raise ValueError("the he family (Allen-Zhu et al.) is a ReLU network")
        if self.family in ("fc", "resnet", "cnn_resnet") and self.activation not in C_SIGMA:
            raise ValueError(f"no c_sigma for activation {self.activation!r}; one of {', '.join(C_SIGMA)}")
        activation(self.activation)
        if self.outputs < 1:
            raise ValueError(f"outputs must be >= 1, got {self.outputs}")
        if self.output_scaling not in ("ntk", "mean_field"):
            raise ValueError(f"output_scaling {self.output_scaling!r} is not one of ntk, mean_field")
        if self.family == "cnn_resnet":
            if self.channels_in < 1:
                raise ValueError(f"channels_in must be >= 1, got {self.channels_in}")
            if self.patch < 1 or self.patch % 2 == 0:
                raise ValueError(f"patch must be an odd integer >= 1 (zero padding (q-1)/2 keeps p positions), got {self.patch}")
        elif self.channels_in != 1 or self.patch != 3:
            raise ValueError("channels_in and patch apply only to the cnn_resnet family")

    @property
    def c_sigma(self) -> float:
        return C_SIGMA[self.activation]

    @property
    def trainable(self) -> tuple[str, ...]:
        return ("W",) if self.family == "he" else ("W1", "W", "a")

    def positions(self, d: int) -> int:
        """cnn_resnet: the number of positions p of an input row of length d = channels_in * p."""
        if self.family != "cnn_resnet":
            raise ValueError(f"positions apply only to the cnn_resnet family, not {self.family!r}")
        if d < 1 or d % self.channels_in:
            raise ValueError(f"cnn_resnet: input dimension d={d} is not channels_in ({self.channels_in}) x positions")
        return d // self.channels_in

    def init(self, d: int, generators: Sequence[torch.Generator]) -> dict[str, torch.Tensor]:
        """Stacked float64 CPU parameters. ``W`` holds the m x m layers: [T, H-1, m, m] for fc/resnet
        (layers 2..H), [T, L, m, m] for he (W_1..W_L). cnn_resnet: W1 [T, m, q d0], W [T, H-1, m, q m],
        a [T, m, p] (or [T, m, p, outputs]), drawn per trial in that order."""
        m, H = self.width, self.depth
        out: dict[str, list[torch.Tensor]] = {}
        for g in generators:
            if self.family == "cnn_resnet":
                p_, q = self.positions(d), self.patch
                p = {
                    "W1": torch.randn(m, q * self.channels_in, generator=g, dtype=torch.float64),
                    "W": torch.randn(H - 1, m, q * m, generator=g, dtype=torch.float64),
                    "a": torch.randn(m, p_, generator=g, dtype=torch.float64)
                    if self.outputs == 1
                    else torch.randn(m, p_, self.outputs, generator=g, dtype=torch.float64),
                }
            elif self.family == "he":
                s = math.sqrt(self.init_variance / m)
                p = {
                    "A": torch.randn(m, d, generator=g, dtype=torch.float64) * s,
                    "W": torch.randn(H, m, m, generator=g, dtype=torch.float64) * s,
                    "B": torch.randn(m, generator=g, dtype=torch.float64)
                    if self.outputs == 1
                    else torch.randn(self.outputs, m, generator=g, dtype=torch.float64) / math.sqrt(self.outputs),
                }
            else:
                p = {
                    "W1": torch.randn(m, d, generator=g, dtype=torch.float64),
                    "W": torch.randn(H - 1, m, m, generator=g, dtype=torch.float64),
                    "a": torch.randn(m, generator=g, dtype=torch.float64)
                    if self.outputs == 1
                    else torch.randn(m, self.outputs, generator=g, dtype=torch.float64),
                }
            for k, v in p.items():
                out.setdefault(k, []).append(v)
        return {k: torch.stack(v) for k, v in out.items()}

    def _conv(self, W: torch.Tensor, x: torch.Tensor, tap: tuple | None = None) -> torch.Tensor:
        """W^(h) phi(x) for every trial and input: W [T, m, q c], x [T, c, n, p] -> [T, m, n, p].

        phi stacks the q zero-padded shifted copies of x (offset -(q-1)/2 first) along the channel
        axis, so row k c + i of a patch is channel i at offset k - (q-1)/2."""
        T, c, n, p = x.shape
        r = self.patch // 2
        xp = torch.nn.functional.pad(x, (r, r))
        patches = torch.cat([xp[..., k : k + p] for k in range(self.patch)], dim=1)  # [T, q c, n, p]
        P = patches.reshape(T, self.patch * c, n * p)
        z = W @ P
        if tap is not None:  # (taps, name, layer): see hidden()
            taps, name, layer = tap
            if not z.requires_grad:
                z.requires_grad_(True)
            taps.append((name, layer, P, z, True))
        return z.reshape(T, W.shape[1], n, p)

    def _cnn_hidden(self, params: dict[str, torch.Tensor], X: torch.Tensor, taps: list | None = None) -> list[torch.Tensor]:
        """cnn_resnet hidden layers in the internal layout [T, m, n, p]."""
        sigma = activation(self.activation)
        T, p = params["a"].shape[0], params["a"].shape[2]
        if X.dim() not in (2, 3) or X.shape[-1] != self.channels_in * p:
            raise ValueError(
                f"cnn_resnet: inputs must be [n, d] or [T, n, d] with d = channels_in x positions = "
                f"{self.channels_in} x {p}, got shape {tuple(X.shape)}"
            )
        Xb = X.expand(T, *X.shape) if X.dim() == 2 else X
        x0 = Xb.reshape(T, Xb.shape[1], self.channels_in, p).transpose(1, 2)  # [T, d0, n, p]
        m, H = self.width, self.depth
        x = math.sqrt(self.c_sigma / m) * sigma(self._conv(params["W1"], x0, None if taps is None else (taps, "W1", None)))
        xs = [x]
        for i, Wh in enumerate(_layers(params["W"])):
            x = x + (self.c_res / (H * math.sqrt(m))) * sigma(self._conv(Wh, x, None if taps is None else (taps, "W", i)))
            xs.append(x)
        return xs

    def hidden(self, params: dict[str, torch.Tensor], X: torch.Tensor, taps: list | None = None) -> list[torch.Tensor]:
        """The hidden representations [x^(1), ..., x^(H)] (fc/resnet) or [h_0, ..., h_L] (he), each [T, n, m];
        for cnn_resnet each x^(h) is [T, n, m, p].

        ``taps``: a list that receives ``(name, layer, x_in, z, left)`` for every trainable linear
        layer (name "W1" or "W", layer its index in the stack or None), z made to require grad, so
        that dL/dz gives dL/dW without autograd forming it (:func:`harness.training.deep_engine.train_deep`
        updates W in place from it): a dense layer z = x_in W^T (left False, dL/dW = (dL/dz)^T x_in),
        a cnn_resnet convolution z = W x_in with x_in its patches [T, q c, n p] (left True,
        dL/dW = (dL/dz) x_in^T)."""
        if self.family == "cnn_resnet":
            return [x.transpose(1, 2) for x in self._cnn_hidden(params, X, taps)]
        sigma = activation(self.activation)
        T = next(iter(params.values())).shape[0]
        Xb = X.expand(T, *X.shape) if X.dim() == 2 else X
        m, H = self.width, self.depth

        def dense(name: str, layer: int | None, x_in: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
            z = x_in @ W.transpose(1, 2)
            if taps is not None and name in self.trainable:
                if not z.requires_grad:
                    z.requires_grad_(True)
                taps.append((name, layer, x_in, z, False))
            return z

        if self.family == "he":
            h = torch.relu(dense("A", None, Xb, params["A"]))
            hs = [h]
            for i, Wl in enumerate(_layers(params["W"])):
                h = torch.relu(dense("W", i, h, Wl))
                hs.append(h)
            return hs
        scale = math.sqrt(self.c_sigma / m)
        x = scale * sigma(dense("W1", None, Xb, params["W1"]))
        xs = [x]
        for i, Wh in enumerate(_layers(params["W"])):
            z = sigma(dense("W", i, x, Wh))
            x = x + (self.c_res / (H * math.sqrt(m))) * z if self.family == "resnet" else scale * z
            xs.append(x)
        return xs

    def forward(self, params: dict[str, torch.Tensor], X: torch.Tensor, taps: list | None = None) -> torch.Tensor:
        """Outputs u: [T, n] (one output) or [T, n, outputs]. X is [n, d] or per-trial [T, n, d].
        ``taps``: see :meth:`hidden`."""
        if self.family == "cnn_resnet":
            last = self._cnn_hidden(params, X, taps)[-1]  # [T, m, n, p]
            a = params["a"]  # [T, m, p(, c)]
            u = torch.einsum("tmnp,tmp->tn", last, a) if self.outputs == 1 else torch.einsum("tmnp,tmpc->tnc", last, a)
            return u / math.sqrt(self.width) if self.output_scaling == "mean_field" else u
        last = self.hidden(params, X, taps)[-1]
        if self.family == "he":
            w = params["B"] if self.outputs == 1 else params["B"].transpose(1, 2)  # [T, m(, c)]
        else:
            w = params["a"]
        u = last @ w.unsqueeze(2) if self.outputs == 1 else last @ w
        if self.output_scaling == "mean_field":
            u = u / math.sqrt(self.width)
        return u.squeeze(2) if self.outputs == 1 else u


def _layers(W: torch.Tensor | Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
    """The hidden layers' weights, each [T, m, m(q)]: from the stacked [T, H, ...] tensor, or as given
    (a list, one tensor per layer, as :func:`train_deep` trains them). ``unbind``, not ``W[:, h]``:
    the backward pass of H selects would zero-fill H copies of the whole stack."""
    return W if isinstance(W, (list, tuple)) else W.unbind(1)


def empirical_ntk(
    model: DeepNet,
    params: dict[str, torch.Tensor],
    X: torch.Tensor,
    names: Sequence[str] | None = None,
    max_elements: int = 1 << 26,
) -> torch.Tensor:
    """Theta_ij = sum over trainable parameters of <du_i/dtheta, du_j/dtheta>, per trial: [T, n, n].

    Per-example Jacobians with ``torch.func``: ``jacrev`` of one trial's output at one input,
    ``vmap`` over inputs and over trials (in chunks of trials so that the stacked Jacobians hold at
    most ``max_elements`` numbers, halved when the GPU runs out of memory), then J J^T.
    """
    names = tuple(names or model.trainable)
    T = next(iter(params.values())).shape[0]
    n = X.shape[0]
    n_params = sum(params[k][0].numel() for k in names)

    def f_single(trained: dict[str, torch.Tensor], fixed: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        full = {**{k: v.unsqueeze(0) for k, v in fixed.items()}, **{k: v.unsqueeze(0) for k, v in trained.items()}}
        return model.forward(full, x.unsqueeze(0)).reshape(())

    per_inputs = vmap(jacrev(f_single), in_dims=(None, None, 0))  # over inputs
    per_trials = vmap(per_inputs, in_dims=(0, 0, None))  # over trials
    chunk = max(1, max_elements // max(1, n * n_params))

    def run(lo: int, hi: int) -> torch.Tensor:
        trained = {k: params[k][lo:hi] for k in names}
        fixed = {k: v[lo:hi] for k, v in params.items() if k not in names}
        jac = per_trials(trained, fixed, X)  # {name: [t, n, *shape]}
        J = torch.cat([j.reshape(j.shape[0], n, -1) for j in jac.values()], dim=2)
        return J @ J.transpose(1, 2)

    return torch.cat(run_in_chunks(T, chunk, run, device=X.device))


def analytic_ntk(model: DeepNet, X: torch.Tensor) -> torch.Tensor:
    """Theta^inf, the infinite-width NTK of an fc or resnet ``model`` (its activation, depth, c_res) on X:
    [n, n], float64 on the CPU (:mod:`harness.deep_kernels`)."""
    if model.family == "fc":
        return fc_kernels(X, model.depth, model.activation).ntk
    if model.family == "resnet":
        return resnet_kernels(X, model.depth, model.activation, c_res=model.c_res).ntk
    raise ValueError(f"analytic_ntk covers the fc and resnet families, not {model.family!r}")


def layerwise_ntk(model: DeepNet, params: dict[str, torch.Tensor], X: torch.Tensor) -> torch.Tensor:
    """The empirical NTK of all trained tensors of a scalar-output fc, resnet or he net: [T, n, n].

    The same kernel as :func:`empirical_ntk` without materialising the n x (H m^2) Jacobians. For a
    layer g^(h) = x^(h-1) W^(h)T (rows per input) and B_h = df/dg^(h), df(x_i)/dW^(h) = B_h[i] x^(h-1)_i^T,
    so the layer adds (B_h B_h^T) * (x^(h-1) x^(h-1)^T) (elementwise product); f(x_i) depends on row i
    of g^(h) only, so one backward pass of sum_i f(x_i) gives every B_h[i]. The trained output layer
    a (fc, resnet) adds x^(H) x^(H)^T; the he family trains W_1..W_L only. O(H n m^2 + H n^2 m) per
    trial instead of O(H n m^2) memory for the Jacobians; runs in the dtype and on the device of
    ``params``. Tested against :func:`empirical_ntk` (tests/test_deep.py).
    """
    if model.family == "cnn_resnet" or model.outputs != 1:
        raise ValueError("layerwise_ntk covers the scalar-output fc, resnet and he families; use empirical_ntk")
    first = params["A"] if model.family == "he" else params["W1"]
    T, m, H = first.shape[0], model.width, model.depth
    Xb = X.to(device=first.device, dtype=first.dtype).expand(T, *X.shape)
    with torch.enable_grad():
        ins, pres = [], []
        if model.family == "he":
            x = torch.relu(Xb @ params["A"].detach().transpose(1, 2))
            for Wl in _layers(params["W"]):
                ins.append(x.detach())
                g = (x @ Wl.detach().transpose(1, 2)).requires_grad_(True)
                pres.append(g)
                x = torch.relu(g)
            f = x @ params["B"].detach().unsqueeze(2)
        else:
            sigma = activation(model.activation)
            scale, res = math.sqrt(model.c_sigma / m), model.c_res / (H * math.sqrt(m))
            ins.append(Xb)
            g = (Xb @ params["W1"].detach().transpose(1, 2)).requires_grad_(True)
            pres.append(g)
            x = scale * sigma(g)
            for Wh in _layers(params["W"]):
                ins.append(x.detach())
                g = (x @ Wh.detach().transpose(1, 2)).requires_grad_(True)
                pres.append(g)
                z = sigma(g)
                x = x + res * z if model.family == "resnet" else scale * z
            f = x @ params["a"].detach().unsqueeze(2)
        grads = torch.autograd.grad(f.sum(), pres)
    theta = torch.zeros(T, X.shape[0], X.shape[0], dtype=first.dtype, device=first.device)
    if model.family != "he":
        last = x.detach()
        theta = last @ last.transpose(1, 2)
    for B, xin in zip(grads, ins, strict=True):
        theta = theta + (B @ B.transpose(1, 2)) * (xin @ xin.transpose(1, 2))
    return theta / m if model.output_scaling == "mean_field" else theta


@torch.no_grad()
def he_forward_norms(
    X: torch.Tensor, width: int, depth: int, generators: Sequence[torch.Generator], init_variance: float = 2.0
) -> torch.Tensor:
    """||h_{i,l}|| for l = 0..L at a fresh init of the ``he`` family, drawing one layer at a time.

    Same draws, in the same order, as :meth:`DeepNet.init` makes for A and then W_1..W_L one
    layer at a time, without holding all L m x m layers of all trials in memory. Returns [T, L+1, n].
    """
    m = width
    s = math.sqrt(init_variance / m)
    out = []
    for g in generators:
        h = torch.relu(X @ (torch.randn(m, X.shape[1], generator=g, dtype=torch.float64) * s).T)  # [n, m]
        norms = [h.norm(dim=1)]
        for _ in range(depth):
            h = torch.relu(h @ (torch.randn(m, m, generator=g, dtype=torch.float64) * s).T)
            norms.append(h.norm(dim=1))
        out.append(torch.stack(norms))
    return torch.stack(out)


@torch.no_grad()
def he_signal_norms(
    X: torch.Tensor, width: int, depth: int, generators: Sequence[torch.Generator], init_variance: float = 2.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward ||h_{i,l}|| and backward ||g_{i,l}|| = ||df(x_i)/dh_l|| for l = 0..L at a fresh ``he`` init.

    Draws A, W_1..W_L one layer at a time (as :func:`he_forward_norms`), then B ~ N(0, 1) (as
    :meth:`DeepNet.init` with one output); g_L = B^T and g_{l-1} = W_l^T (D_l g_l), D_l the ReLU mask of
    layer l. Holds one trial's L layers at a time. Returns two [T, L+1, n] tensors.
    """
    m = width
    s = math.sqrt(init_variance / m)
    fwd, bwd = [], []
    for g in generators:
        h = torch.relu(X @ (torch.randn(m, X.shape[1], generator=g, dtype=torch.float64) * s).T)  # [n, m]
        norms, layers, masks = [h.norm(dim=1)], [], []
        for _ in range(depth):
            W = torch.randn(m, m, generator=g, dtype=torch.float64) * s
            z = h @ W.T
            layers.append(W)
            masks.append(z > 0)
            h = torch.relu(z)
            norms.append(h.norm(dim=1))
        B = torch.randn(m, generator=g, dtype=torch.float64)
        gl = B.expand(X.shape[0], m)
        back = [gl.norm(dim=1)]
        for W, mask in zip(reversed(layers), reversed(masks), strict=True):
            gl = (gl * mask) @ W
            back.append(gl.norm(dim=1))
        fwd.append(torch.stack(norms))
        bwd.append(torch.stack(back[::-1]))
    return torch.stack(fwd), torch.stack(bwd)
