"""Every peer against hand-written NumPy in one run: compgraph, autograd, MyGrad, micrograd, torch.

A plain script rather than pytest-benchmark or asv: every workload needs its NumPy baseline,
and each library is timed *interleaved with it in the same process* (alternating repeats),
so that a noisy neighbour or a CPU-frequency change hits both alike and the result is a
ratio. Medians of the repeats are reported. Every library's numbers are checked against
NumPy's before anything is timed, so a fast wrong answer cannot enter the table. The deep
chain runs in a fresh subprocess per library, so its peak memory is its own. Peers that are
not installed are left out (their cells read "–").

    python benchmarks/run.py            # full run (several minutes)
    python benchmarks/run.py --quick    # under a minute
    python benchmarks/run.py --write    # also rewrite the tables in benchmarks/README.md
    python benchmarks/run.py --profile  # where compgraph's time goes, then stop
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One thread per library unless the environment says otherwise (set these variables to
# measure another count; the header reports it). On a shared 2-core machine, a BLAS thread
# that must wait for a core turns a 3 µs np.dot into milliseconds, at random: the ratios
# would then measure the scheduler, not the code. Set before NumPy and torch are imported.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
for _variable in THREAD_VARIABLES:
    os.environ.setdefault(_variable, "1")
# PyTorch's OpenMP threads otherwise spin for a while after each op, taking the second
# core from whatever is timed next.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402 - after the thread settings, which NumPy reads on import

import compgraph as cg  # noqa: E402
from compgraph.files import write_atomically  # noqa: E402

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

#: The module each optional implementation needs; the rest need only NumPy and compgraph.
NEEDS = {
    "autograd": "autograd",
    "mygrad": "mygrad",
    "micrograd": "micrograd",
    "torch": "torch",
    "torch fused": "torch",
    "jax.jit fused": "jax",
    "jax.jit network": "jax",
}

#: Agreement with NumPy required before timing. Sums of 10⁶ terms in another order differ
#: in the last ~10 digits; a wrong vjp differs in the first.
RTOL, ATOL = 1e-7, 1e-12

Run = Callable[[], tuple]


def installed(name: str) -> bool:
    """Whether implementation ``name`` can run here (its optional peer is importable)."""
    module = NEEDS.get(name)
    return module is None or importlib.util.find_spec(module) is not None


# -- one logistic-regression step: the cost J and dJ/dw, dJ/db -----------------------------


def logistic_data(n: int, m: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, m))
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    w = rng.normal(size=(n, 1)) * 0.01
    return w, 0.1, X, Y


def numpy_step(w, b, X, Y) -> Run:
    """The lesson's vectorized NumPy, np.dot and the simplification dZ = A - Y included."""

    def step():
        m = X.shape[1]
        A = 1 / (1 + np.exp(-(np.dot(w.T, X) + b)))
        cost = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
        dZ = A - Y
        return cost, np.dot(X, dZ.T) / m, np.mean(dZ)

    return step


def chain_rule_step(w, b, X, Y) -> Run:
    """What a reverse-mode engine computes for the lesson's graph, written out in NumPy.

    Every intermediate's vjp in reverse order, with no algebraic simplification: d/dA of
    the two logs, σ'(z) = A(1 - A), and the matmul's vjp for w only (X is a constant). The
    floor for an engine that does not simplify, and the baseline of the lesson-graph target.
    """

    def step():
        m = X.shape[1]
        Z = w.T @ X + b
        A = 1 / (1 + np.exp(-Z))
        one_minus_A = 1 - A
        one_minus_Y = 1 - Y
        total = Y * np.log(A) + one_minus_Y * np.log(one_minus_A)
        cost = -np.mean(total)
        g_total = np.full_like(total, -1 / m)  # mean's vjp, then neg's
        g_A = (g_total * Y) / A  # log's vjp on the first term
        g_A = g_A - (g_total * one_minus_Y) / one_minus_A  # log(1 - A): log's vjp, then sub's
        g_Z = g_A * A * (1 - A)  # sigmoid's vjp from its output
        g_w = (g_Z @ X.T).T  # matmul's vjp for wᵀ, then transpose's
        g_b = np.sum(g_Z)  # b was broadcast over the m columns
        return cost, g_w, g_b

    return step


def compgraph_step(w, b, X, Y) -> Run:
    """The lesson's graph, σ then two logs, with X and Y plain arrays as the README teaches."""
    wn, bn = cg.Node(w), cg.Node(b)

    def step():
        A = cg.sigmoid(wn.T @ X + bn)
        J = -cg.mean(Y * cg.log(A) + (1 - Y) * cg.log(1 - A))
        J.backward()
        return J.value, wn.grad, bn.grad

    return step


def compgraph_fused_step(w, b, X, Y) -> Run:
    """compgraph's fused loss, ``sigmoid_cross_entropy``, with X and Y plain arrays."""
    wn, bn = cg.Node(w), cg.Node(b)

    def step():
        J = cg.mean(cg.sigmoid_cross_entropy(wn.T @ X + bn, Y))
        J.backward()
        return J.value, wn.grad, bn.grad

    return step


def compgraph_fused_node_step(w, b, X, Y) -> Run:
    """The fused loss with X wrapped in a constant Node (what the README's sketch does)."""
    Xn = cg.Node(X, requires_grad=False)
    wn, bn = cg.Node(w), cg.Node(b)

    def step():
        J = cg.mean(cg.sigmoid_cross_entropy(wn.T @ Xn + bn, Y))
        J.backward()
        return J.value, wn.grad, bn.grad

    return step


def autograd_step(w, b, X, Y) -> Run:
    import autograd.numpy as anp
    from autograd import value_and_grad

    def cost(w, b):
        A = 1 / (1 + anp.exp(-(anp.dot(w.T, X) + b)))
        return -anp.mean(Y * anp.log(A) + (1 - Y) * anp.log(1 - A))

    cost_and_grads = value_and_grad(cost, argnum=(0, 1))

    def step():
        J, (dw, db) = cost_and_grads(w, b)
        return J, dw, db

    return step


def mygrad_step(w, b, X, Y) -> Run:
    import mygrad as mg

    wt, bt = mg.tensor(w), mg.tensor(b)

    def step():
        A = 1 / (1 + mg.exp(-(mg.matmul(wt.T, X) + bt)))
        J = -mg.mean(Y * mg.log(A) + (1 - Y) * mg.log(1 - A))
        J.backward()
        return J.item(), wt.grad, bt.grad

    return step


def _torch_parameters(w, b, X, Y):
    import torch

    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    return torch, wt, bt, torch.from_numpy(X), torch.from_numpy(Y)


def torch_step(w, b, X, Y) -> Run:
    torch, wt, bt, Xt, Yt = _torch_parameters(w, b, X, Y)

    def step():
        wt.grad = bt.grad = None
        A = torch.sigmoid(wt.T @ Xt + bt)
        J = -torch.mean(Yt * torch.log(A) + (1 - Yt) * torch.log(1 - A))
        J.backward()
        return J.item(), wt.grad, bt.grad

    return step


def torch_fused_step(w, b, X, Y) -> Run:
    """PyTorch's own fused loss, ``binary_cross_entropy_with_logits`` (mean reduction)."""
    torch, wt, bt, Xt, Yt = _torch_parameters(w, b, X, Y)
    loss = torch.nn.functional.binary_cross_entropy_with_logits

    def step():
        wt.grad = bt.grad = None
        J = loss(wt.T @ Xt + bt, Yt)
        J.backward()
        return J.item(), wt.grad, bt.grad

    return step


def _lesson_cost(w, b, X, Y):
    A = cg.sigmoid(w.T @ X + b)
    return -cg.mean(Y * cg.log(A) + (1 - Y) * cg.log(1 - A))


def _fused_cost(w, b, X, Y):
    return cg.mean(cg.sigmoid_cross_entropy(w.T @ X + b, Y))


def _compiled_step(cost, w, b, X, Y) -> Run:
    """``cost``'s value and gradient through cg.compile, traced here, before any timing."""
    compiled = cg.compile(cg.value_and_grad(cost, argnums=(0, 1)))
    compiled(w, b, X, Y)

    def step():
        J, (dw, db) = compiled(w, b, X, Y)
        return J, dw, db

    return step


def compgraph_compiled_step(w, b, X, Y) -> Run:
    """The lesson's graph, compiled (issue 23): the recorded step replayed as NumPy lines."""
    return _compiled_step(_lesson_cost, w, b, X, Y)


def compgraph_compiled_fused_step(w, b, X, Y) -> Run:
    """The fused loss, compiled."""
    return _compiled_step(_fused_cost, w, b, X, Y)


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)  # float64, to agree with NumPy before timing
    return jax


def jax_fused_step(w, b, X, Y) -> Run:
    """jax.jit of value_and_grad of the fused loss; X and Y moved to JAX once, as in training."""
    jax = _jax()
    jnp = jax.numpy

    def cost(w, b, X, Y):
        Z = w.T @ X + b
        return jnp.mean(jnp.maximum(Z, 0) - Z * Y + jnp.log1p(jnp.exp(-jnp.abs(Z))))

    f = jax.jit(jax.value_and_grad(cost, argnums=(0, 1)))
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)
    f(w, b, Xj, Yj)  # compiled before timing

    def step():
        J, (dw, db) = f(w, b, Xj, Yj)
        return np.asarray(J), np.asarray(dw), np.asarray(db)  # waits for the result

    return step


#: Row label -> builder(w, b, X, Y) of one step, in the order of the table.
STEP_BUILDERS: dict[str, Callable[..., Run]] = {
    "numpy": numpy_step,
    "chain rule by hand": chain_rule_step,
    "compgraph": compgraph_step,
    "compgraph fused": compgraph_fused_step,
    "compgraph fused, X as Node": compgraph_fused_node_step,
    "compgraph compiled": compgraph_compiled_step,
    "compgraph compiled fused": compgraph_compiled_fused_step,
    "jax.jit fused": jax_fused_step,
    "autograd": autograd_step,
    "mygrad": mygrad_step,
    "torch": torch_step,
    "torch fused": torch_fused_step,
}

#: The pair timed against the chain rule by hand rather than NumPy (the lesson-graph target).
VERSUS_CHAIN_RULE = "compgraph ÷ chain rule by hand"


def gradient_descent(name: str, w, b, X, Y, iterations: int, lr: float = 0.005) -> Run:
    """``iterations`` steps of w ← w - α dw, b ← b - α db; returns the final w and b."""
    if name == "numpy":

        def run():
            wv, bv = w.copy(), b
            m = X.shape[1]
            for _ in range(iterations):
                A = 1 / (1 + np.exp(-(np.dot(wv.T, X) + bv)))
                -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))  # the cost, as an engine has
                dZ = A - Y
                wv -= lr * (np.dot(X, dZ.T) / m)
                bv -= lr * np.mean(dZ)
            return wv, bv

        return run

    fused = {"compgraph": False, "compgraph fused": True}[name]

    def run():
        wv, bv = w, b
        for _ in range(iterations):
            # Fresh leaves each step use only the public API, however the engine stores values.
            wn, bn = cg.Node(wv), cg.Node(bv)
            Z = wn.T @ X + bn
            if fused:
                J = cg.mean(cg.sigmoid_cross_entropy(Z, Y))
            else:
                A = cg.sigmoid(Z)
                J = -cg.mean(Y * cg.log(A) + (1 - Y) * cg.log(1 - A))
            J.backward()
            wv, bv = wn.value - lr * wn.grad, bn.value - lr * bn.grad
        return wv, bv

    return run


# -- graphs of scalars -----------------------------------------------------------------------

A_FACTOR, START = 1.0000001, 0.5


def numpy_scalar_chain(length: int) -> Run:
    """``y = y * a`` by hand on 0-d arrays: the forward products, then the reverse sweep."""

    def run():
        a = np.array(A_FACTOR)
        values = [np.array(START)]
        for _ in range(length):
            values.append(values[-1] * a)
        g, da = np.array(1.0), np.array(0.0)
        for value in reversed(values[:-1]):
            da = da + g * value
            g = g * a
        return values[-1], da

    return run


def compgraph_scalar_chain(length: int) -> Run:
    def run():
        a, y = cg.Node(A_FACTOR), cg.Node(START)
        for _ in range(length):
            y = y * a
        y.backward()
        return y.value, a.grad

    return run


def micrograd_scalar_chain(length: int) -> Run:
    from micrograd.engine import Value

    def run():
        a, y = Value(A_FACTOR), Value(START)
        for _ in range(length):
            y = y * a
        with recursion_limit(length):
            y.backward()
        return y.data, a.grad

    return run


def torch_scalar_chain(length: int) -> Run:
    import torch

    def run():
        a = torch.tensor(A_FACTOR, dtype=torch.float64, requires_grad=True)
        y = torch.tensor(START, dtype=torch.float64)
        for _ in range(length):
            y = y * a
        y.backward()
        return y.item(), a.grad.item()

    return run


def numpy_reused_value(terms: int) -> Run:
    """``total = total + x * k`` by hand on 0-d arrays: products and sums, then the sweep."""

    def run():
        x = np.array(1.5)
        constants = [np.array(float(k)) for k in range(1, terms)]
        total = x * np.array(1.0)
        for k in constants:
            total = total + x * k
        # Reverse sweep: each + hands g = 1 to both sides; each x * k adds g * k to dx.
        g, dx = np.array(1.0), np.array(0.0)
        for k in reversed(constants):
            dx = dx + g * k
        dx = dx + g * np.array(1.0)
        return total, dx

    return run


def compgraph_reused_value(terms: int) -> Run:
    def run():
        x = cg.Node(1.5)
        total = x * 1.0
        for k in range(1, terms):
            total = total + x * float(k)
        total.backward()
        return total.value, x.grad

    return run


def micrograd_reused_value(terms: int) -> Run:
    from micrograd.engine import Value

    def run():
        x = Value(1.5)
        total = x * 1.0
        for k in range(1, terms):
            total = total + x * float(k)
        with recursion_limit(3 * terms):
            total.backward()
        return total.data, x.grad

    return run


def torch_reused_value(terms: int) -> Run:
    import torch

    def run():
        x = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
        total = x * 1.0
        for k in range(1, terms):
            total = total + x * float(k)
        total.backward()
        return total.item(), x.grad.item()

    return run


# -- compiled code (issue 23): the week-3 network step, a compiled scalar chain, tracing ------


def network_data():
    """The week-3 flower: X (2, 400), Y (1, 400), and the course's 2-4-1 parameters."""
    from compgraph.models.datasets import planar_flower
    from compgraph.models.networks import initialize_parameters

    X, Y = planar_flower()
    return initialize_parameters([2, 4, 1], seed=2), X, Y.astype(np.float64)


NETWORK_NAMES = ("W1", "b1", "W2", "b2")


def numpy_network_step(parameters, X, Y) -> Run:
    """The course's forward_propagation, compute_cost and backward_propagation, tanh hidden."""
    W1, b1, W2, b2 = (parameters[n] for n in NETWORK_NAMES)

    def step():
        m = X.shape[1]
        A1 = np.tanh(W1 @ X + b1)
        A2 = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
        cost = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
        dZ2 = A2 - Y
        dZ1 = (W2.T @ dZ2) * (1 - A1**2)
        return (
            cost,
            dZ1 @ X.T / m,
            np.sum(dZ1, axis=1, keepdims=True) / m,
            dZ2 @ A1.T / m,
            np.sum(dZ2, axis=1, keepdims=True) / m,
        )

    return step


def _network_cost(X, Y):
    from compgraph.models import networks

    def cost(W1, b1, W2, b2):
        layers = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
        return networks.compute_cost(networks.forward(X, layers, hidden="tanh"), Y)

    return cost


def compgraph_network_step(parameters, X, Y) -> Run:
    """compgraph.networks' forward and compute_cost, eager value_and_grad."""
    f = cg.value_and_grad(_network_cost(X, Y), argnums=(0, 1, 2, 3))
    values = [parameters[n] for n in NETWORK_NAMES]

    def step():
        J, grads = f(*values)
        return (J, *grads)

    return step


def compgraph_compiled_network_step(parameters, X, Y) -> Run:
    """The same step through cg.compile (X an argument, so it is traced, not fixed)."""

    def one_step(W1, b1, W2, b2, X):
        return cg.value_and_grad(_network_cost(X, Y), argnums=(0, 1, 2, 3))(W1, b1, W2, b2)

    # Y is read from outside: compute_cost checks the labels' values, so they are constants
    # of the trace (passed as an argument, cg.compile would warn that they are fixed).
    compiled = cg.compile(one_step)
    values = [parameters[n] for n in NETWORK_NAMES]
    compiled(*values, X)

    def step():
        J, grads = compiled(*values, X)
        return (J, *grads)

    return step


def jax_network_step(parameters, X, Y) -> Run:
    """jax.jit of value_and_grad of the same network and (fused) cost."""
    jax = _jax()
    jnp = jax.numpy

    def cost(W1, b1, W2, b2, X, Y):
        Z2 = W2 @ jnp.tanh(W1 @ X + b1) + b2
        return jnp.mean(jnp.maximum(Z2, 0) - Z2 * Y + jnp.log1p(jnp.exp(-jnp.abs(Z2))))

    f = jax.jit(jax.value_and_grad(cost, argnums=(0, 1, 2, 3)))
    values = [parameters[n] for n in NETWORK_NAMES]
    Xj, Yj = jnp.asarray(X), jnp.asarray(Y)
    f(*values, Xj, Yj)

    def step():
        J, grads = f(*values, Xj, Yj)
        return (np.asarray(J), *(np.asarray(g) for g in grads))

    return step


NETWORK_BUILDERS: dict[str, Callable[..., Run]] = {
    "numpy": numpy_network_step,
    "compgraph": compgraph_network_step,
    "compgraph compiled": compgraph_compiled_network_step,
    "jax.jit network": jax_network_step,
}


def compiled_scalar_chain(length: int) -> Run:
    """The scalar chain ``y = y * a`` through cg.compile: a trace of ``length`` ops, replayed."""

    def chain(a, y):
        for _ in range(length):
            y = y * a
        return y

    compiled = cg.compile(cg.value_and_grad(chain))
    compiled(A_FACTOR, START)

    def run():
        y, da = compiled(A_FACTOR, START)
        return y, da

    return run


def trace_cost(repeats: int) -> float:
    """The first call of a freshly compiled lesson step at 30×569, in eager steps' time."""
    data = logistic_data(30, 569)
    eager = cg.value_and_grad(_lesson_cost, argnums=(0, 1))
    eager_seconds = statistics.median(timed(lambda: eager(*data)) for _ in range(repeats))
    first = []
    for _ in range(repeats):
        compiled = cg.compile(cg.value_and_grad(_lesson_cost, argnums=(0, 1)))
        first.append(timed(lambda compiled=compiled: compiled(*data)))
    return statistics.median(first) / eager_seconds


def timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


class recursion_limit:  # noqa: N801 - used like a function, as contextlib's helpers are
    """Room for micrograd's backward, which builds its topological order recursively.

    One Python frame per node on the longest path, so a chain of 10,000 needs a limit
    above CPython's default of 1000 (CPython ≥ 3.11 keeps those frames off the C stack).
    """

    def __init__(self, depth: int) -> None:
        self.depth = depth + 1000

    def __enter__(self) -> None:
        self.saved = sys.getrecursionlimit()
        sys.setrecursionlimit(max(self.saved, self.depth))

    def __exit__(self, *exc: object) -> None:
        sys.setrecursionlimit(self.saved)


SCALAR_BUILDERS: dict[str, dict[str, Callable[[int], Run]]] = {
    "chain": {
        "numpy": numpy_scalar_chain,
        "compgraph": compgraph_scalar_chain,
        "micrograd": micrograd_scalar_chain,
        "torch": torch_scalar_chain,
    },
    "reused": {
        "numpy": numpy_reused_value,
        "compgraph": compgraph_reused_value,
        "micrograd": micrograd_reused_value,
        "torch": torch_reused_value,
    },
}


# -- checking and timing ---------------------------------------------------------------------


def as_float64(value) -> np.ndarray:
    """A result of any library as a float64 NumPy array (torch tensors are detached first)."""
    if hasattr(value, "detach"):
        value = value.detach()
    return np.asarray(value, dtype=np.float64)


def check_agreement(runs: dict[str, Run], reference: str = "numpy") -> None:
    """Run each once and require every result to match ``reference``'s, element by element.

    Raises:
        AssertionError: naming the library, the output at fault and the largest difference.
    """
    expected = [as_float64(v) for v in runs[reference]()]
    for name, run in runs.items():
        got = [as_float64(v) for v in run()]
        if len(got) != len(expected):
            raise AssertionError(
                f"check_agreement: {name} returned {len(got)} results, {reference} "
                f"{len(expected)}; return the same outputs in the same order"
            )
        for index, (have, want) in enumerate(zip(got, expected, strict=True)):
            if have.shape != want.shape or not np.allclose(have, want, rtol=RTOL, atol=ATOL):
                difference = np.max(np.abs(have - want)) if have.shape == want.shape else "shape"
                raise AssertionError(
                    f"check_agreement: {name} disagrees with {reference} in output #{index} "
                    f"(shape {have.shape} vs {want.shape}, largest difference {difference}); "
                    "its time would not be of the same computation, so fix it before timing"
                )


def freeze_imports(modules: Sequence[str]) -> None:
    """Import every peer now, then move all objects alive so far out of the collector's reach.

    All libraries share this process, and Python's full collections walk every tracked
    object in it: with torch imported that is ~170,000 objects and 80 ms a collection, and a
    loop that builds a graph of Python objects triggers one per ~40,000 new objects. That
    made compgraph's and micrograd's scalar rows about twice as slow here as in a process of
    their own, a cost of sharing the process rather than of either library (torch's graph
    lives in C++). ``gc.freeze()`` leaves the collector running for everything made later.
    """
    for module in dict.fromkeys(modules):
        importlib.import_module("micrograd.engine" if module == "micrograd" else module)
    gc.collect()
    gc.freeze()


#: The timer; a name of its own so that tests can drive the bookkeeping with a fake clock.
clock = time.perf_counter


def round_robin(
    runs: dict[str, Run],
    repeats: int,
    times: dict[str, list[float]] | None = None,
    own_garbage: bool = False,
) -> dict[str, list[float]]:
    """Seconds of every call of each run, timed round-robin (added to ``times`` if given).

    ``own_garbage``: time a full collection after each call too. A library whose graphs are
    reference cycles (micrograd's: every Value's backward closure holds the Value) leaves
    garbage that only the cyclic collector frees, and without this the collection would run,
    and be timed, during whichever library ran next.
    """
    times = {name: [] for name in runs} if times is None else times
    names = list(runs)
    gc.collect()
    for round_ in range(repeats):
        # Rotate the order, so that no library always runs right after the same one (thread
        # pools that spin after their work would otherwise slow one neighbour every time).
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = clock()
            runs[name]()
            if own_garbage:
                gc.collect()
            times[name].append(clock() - start)
    return times


def interleaved(
    runs: dict[str, Run], repeats: int, warm_up: bool = True, own_garbage: bool = False
) -> dict[str, float]:
    """Median seconds per call of each run, timed round-robin in this process."""
    if warm_up:
        for run in runs.values():
            run()  # imports, caches, first allocations
    times = round_robin(runs, repeats, own_garbage=own_garbage)
    return {name: statistics.median(ts) for name, ts in times.items()}


#: Each pair's repeats are spread over this many passes through all the pairs, so that a
#: burst of someone else's work lasting seconds cannot fall on one pair's whole sample.
PASSES = 3


def ratios_in_pairs(
    runs: dict[str, Run],
    repeats: int,
    baseline: str = "numpy",
    warm_up: bool = True,
    extra_pairs: Sequence[tuple[str, str]] = (),
) -> dict[str, float]:
    """Each run's median time over the baseline's, each timed in a pair with the baseline.

    Pairs, not one round-robin of all: with X larger than the caches, what ran just before
    a step (and how it left the caches and the BLAS threads) shifts its time, and in a
    round-robin of five that shift fell unevenly on NumPy and the rest. The baseline's own
    entry is its median seconds over all the pairs; an extra pair ``(a, b)`` gives the
    entry ``"b ÷ a"``, b's time over a's, timed together.
    """
    pairs = [(baseline, name) for name in runs if name != baseline] + list(extra_pairs)
    if warm_up:
        for run in runs.values():
            run()  # imports, caches, first allocations
    if not pairs:  # nothing to compare with: time the baseline alone
        return {baseline: statistics.median(round_robin(runs, repeats)[baseline])}
    samples: dict[tuple[str, str], dict[str, list[float]]] = {
        (a, b): {a: [], b: []} for a, b in pairs
    }
    for _ in range(PASSES):
        for a, b in pairs:
            round_robin({a: runs[a], b: runs[b]}, -(-repeats // PASSES), samples[a, b])
    result: dict[str, float] = {}
    baseline_medians = []
    for (a, b), times in samples.items():
        ratio = statistics.median(times[b]) / statistics.median(times[a])
        if a == baseline and (a, b) not in extra_pairs:
            result[b] = ratio
            baseline_medians.append(statistics.median(times[a]))
        else:
            result[f"{b} ÷ {a}"] = ratio
    if baseline_medians:
        result[baseline] = statistics.median(baseline_medians)
    return result


DEEP_CHAIN_CHILD = """
import sys, time
library, levels = sys.argv[1], int(sys.argv[2])
def status(field):
    # VmHWM (peak resident set) belongs to this process image; getrusage's ru_maxrss would
    # include the parent's peak, which Linux carries across fork and exec.
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
if library == 'compgraph':
    import compgraph as cg
    a, b, x = cg.Node(1.0000001), cg.Node(1e-7), cg.Node(0.5)
    gradient = lambda: float(x.grad)
elif library == 'mygrad':
    import mygrad as mg
    a, b, x = mg.tensor(1.0000001), mg.tensor(1e-7), mg.tensor(0.5)
    gradient = lambda: float(x.grad)
elif library == 'torch':
    import torch
    a, b = torch.tensor(1.0000001, dtype=torch.float64), torch.tensor(1e-7, dtype=torch.float64)
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    gradient = lambda: x.grad.item()
base = status('VmRSS')
start = time.perf_counter()
y = x
for _ in range(levels):
    y = y * a + b
y.backward()
seconds = time.perf_counter() - start
print(seconds, status('VmHWM') - base, repr(gradient()))
"""

#: Libraries the deep chain runs on. micrograd is not among them: its recursive backward
#: would need two million Python frames and a set per node for a million levels.
DEEP_CHAIN_LIBRARIES = ("compgraph", "torch", "mygrad")


def deep_chain(library: str, levels: int) -> tuple[float, float]:
    """Seconds and peak bytes per node of ``y = y*a + b`` for ``levels`` levels, build + backward.

    Raises:
        AssertionError: the child failed, or its dy/dx is not aⁿ.
    """
    result = subprocess.run(
        [sys.executable, "-c", DEEP_CHAIN_CHILD, library, str(levels)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise AssertionError(f"deep_chain: {library} at {levels} levels failed:\n{result.stderr}")
    seconds, peak, gradient = (float(v) for v in result.stdout.split())
    expected = 1.0000001**levels  # dy/dx of y = y*a + b, n times
    if not np.isclose(gradient, expected, rtol=RTOL, atol=0):
        raise AssertionError(
            f"deep_chain: {library} gives dy/dx = {gradient!r} at {levels} levels, "
            f"not aⁿ = {expected!r}"
        )
    return seconds, peak / (2 * levels)  # two ops, so two new nodes, per level


# -- the machine and its load ----------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    versions.append(f"compgraph {cg.__version__}")
    for module in ("autograd", "mygrad", "micrograd", "torch"):
        if importlib.util.find_spec(module) is not None:
            versions.append(f"{module} {package_version(module)}")
    threads = ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in THREAD_VARIABLES)
    return f"{cpu}, {os.cpu_count()} cores, " + ", ".join(versions) + f"; threads: {threads}"


def package_version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module)
    except PackageNotFoundError:
        return "?"


def busy_cpu_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot (/proc/stat), or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal (guest time is already in user).
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the deep-chain runs)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class LoadMeter:
    """How busy the machine was with other work while the benchmark ran."""

    start_wall: float = field(default_factory=time.perf_counter)
    start_load: float = field(default_factory=lambda: os.getloadavg()[0])
    start_busy: float | None = field(default_factory=busy_cpu_seconds)
    start_own: float = field(default_factory=own_cpu_seconds)

    def summary(self, note: str = "") -> str:
        wall = time.perf_counter() - self.start_wall
        end_load = os.getloadavg()[0]
        text = (
            f"1-minute load average {self.start_load:.2f} before the run and {end_load:.2f} "
            f"after ({os.cpu_count()} cores)"
        )
        busy = busy_cpu_seconds()
        if busy is not None and self.start_busy is not None:
            others = max(0.0, busy - self.start_busy - (own_cpu_seconds() - self.start_own))
            text += (
                f"; other processes used {others:.0f} CPU-seconds during the {wall:.0f} s run "
                f"({others / wall:.2f} cores on average)"
            )
        return text + (f"; {note}" if note else "")


# -- the run ---------------------------------------------------------------------------------

SHAPES = [(12288, 209), (1000, 10000), (10, 1_000_000), (30, 569)]
LARGE_SHAPES = SHAPES[:3]
DESCENT_SHAPE = (12288, 209)
SCALAR_LENGTH = 10_000


@dataclass(frozen=True)
class Settings:
    """How much of each workload a run does."""

    repeats: int  # per pair; 20x as many at the small shapes, where a step takes ~0.1 ms
    iterations: int  # of gradient descent
    descent_repeats: int
    levels: int  # of the deep chain
    deep_repeats: int  # runs of the deep chain per library (MyGrad's: one)


FULL = Settings(repeats=31, iterations=2000, descent_repeats=6, levels=1_000_000, deep_repeats=3)
QUICK = Settings(repeats=5, iterations=200, descent_repeats=3, levels=50_000, deep_repeats=1)


@dataclass
class Results:
    """Everything one run measured; the tables are rendered from it."""

    machine: str
    quick: bool
    load: str = ""
    #: shape label -> row label -> ratio to NumPy ("numpy": NumPy's median seconds).
    steps: dict[str, dict[str, float]] = field(default_factory=dict)
    iterations: int = 0
    #: row label -> ratio to NumPy ("numpy": seconds) for gradient descent.
    descent: dict[str, float] = field(default_factory=dict)
    #: "chain" / "reused" -> library -> microseconds per op, from one round-robin.
    scalars: dict[str, dict[str, float]] = field(default_factory=dict)
    levels: int = 0
    #: library -> (median seconds, peak bytes per node) of the deep chain.
    deep: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: row label -> ratio to NumPy ("numpy": seconds) of the week-3 network step (issue 23).
    network: dict[str, float] = field(default_factory=dict)
    #: µs per op of the compiled scalar chain (issue 23); None when not measured.
    compiled_chain: float | None = None
    #: the first call of a fresh cg.compile of the 30×569 lesson step, in eager steps.
    trace_steps: float | None = None


def shape_label(n: int, m: int) -> str:
    return f"{n}×10⁶" if m == 1_000_000 else f"{n}×{m}"


def run_steps(results: Results, repeats: int, names: Sequence[str]) -> None:
    for n, m in SHAPES:
        data = logistic_data(n, m)
        steps = {name: STEP_BUILDERS[name](*data) for name in names}
        check_agreement(steps)
        reps = repeats * (20 if n * m < 100_000 else 1)
        row = ratios_in_pairs(
            steps, reps, warm_up=False, extra_pairs=[("chain rule by hand", "compgraph")]
        )
        results.steps[shape_label(n, m)] = row
        print(shape_label(n, m), {k: round(v, 4) for k, v in row.items()}, flush=True)


DESCENT_ROWS = ("numpy", "compgraph", "compgraph fused")


def run_descent(results: Results, iterations: int, repeats: int) -> None:
    data = logistic_data(*DESCENT_SHAPE)
    runs = {name: gradient_descent(name, *data, iterations) for name in DESCENT_ROWS}
    check_agreement(runs)  # also the warm-up: each run takes seconds
    results.iterations = iterations
    results.descent = ratios_in_pairs(runs, repeats, warm_up=False)
    print("gradient descent", results.descent, flush=True)


def run_scalars(results: Results, repeats: int, use: Callable[[str], bool] = installed) -> None:
    for workload, builders in SCALAR_BUILDERS.items():
        runs = {name: build(SCALAR_LENGTH) for name, build in builders.items() if use(name)}
        check_agreement(runs)
        # Graphs of 10,000 Python objects: each library pays for collecting its own garbage.
        medians = interleaved(runs, repeats, warm_up=False, own_garbage=True)
        ops = SCALAR_LENGTH * (1 if workload == "chain" else 2)
        results.scalars[workload] = {name: 1e6 * s / ops for name, s in medians.items()}
        print(workload, results.scalars[workload], flush=True)


def run_compiled(results: Results, repeats: int, use: Callable[[str], bool] = installed) -> None:
    """The week-3 network step against the course's NumPy, a compiled chain, tracing's cost."""
    data = network_data()
    steps = {name: build(*data) for name, build in NETWORK_BUILDERS.items() if use(name)}
    check_agreement(steps)
    results.network = ratios_in_pairs(steps, repeats * 20, warm_up=False)
    print("network step", {k: round(v, 4) for k, v in results.network.items()}, flush=True)
    runs = {
        "numpy": numpy_scalar_chain(SCALAR_LENGTH),
        "compiled": compiled_scalar_chain(SCALAR_LENGTH),
    }
    check_agreement(runs)
    # Compiled code makes no reference cycles (NumPy scalars only): the collection the
    # scalar rows time after each call would time other workloads' garbage here.
    medians = interleaved(runs, repeats, warm_up=False)
    results.compiled_chain = 1e6 * medians["compiled"] / SCALAR_LENGTH
    results.trace_steps = trace_cost(repeats)
    print("compiled chain", results.compiled_chain, "trace", results.trace_steps, flush=True)


def run_deep_chain(
    results: Results, levels: int, repeats: int, libraries: Sequence[str] = DEEP_CHAIN_LIBRARIES
) -> None:
    results.levels = levels
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in libraries}
    for _ in range(repeats):
        # compgraph and torch alternate, as the target compares them; MyGrad (~6x slower
        # than either) runs once.
        for name in libraries:
            if name == "mygrad" and samples[name]:
                continue
            samples[name].append(deep_chain(name, levels))
            print("deep chain", name, samples[name][-1], flush=True)
    results.deep = {
        name: (statistics.median(s for s, _ in runs), max(b for _, b in runs))
        for name, runs in samples.items()
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a shorter chain")
    parser.add_argument("--write", action="store_true", help="rewrite benchmarks/README.md")
    parser.add_argument("--no-peers", action="store_true", help="compgraph and NumPy only")
    parser.add_argument(
        "--load-note", default="", help="a sentence about the machine's load, for the header"
    )
    parser.add_argument(
        "--profile", action="store_true", help="print where compgraph's time goes, then stop"
    )
    args = parser.parse_args(argv)
    if args.profile:
        profile()
        return

    def use(name: str) -> bool:
        return installed(name) and not (args.no_peers and name in NEEDS)

    freeze_imports([NEEDS[name] for name in NEEDS if use(name)])
    try:
        measure_and_report(args, use)
    finally:
        gc.unfreeze()


def measure_and_report(args: argparse.Namespace, use: Callable[[str], bool]) -> None:
    """Every workload, then the tables (printed, and written to the README with --write)."""
    meter = LoadMeter()
    results = Results(machine=machine(), quick=args.quick)
    settings = QUICK if args.quick else FULL
    run_steps(results, settings.repeats, [name for name in STEP_BUILDERS if use(name)])
    run_descent(results, settings.iterations, settings.descent_repeats)
    run_scalars(results, settings.repeats, use)
    run_compiled(results, settings.repeats, use)
    # MyGrad takes ~6x as long as the others on the deep chain: --quick leaves it out.
    deep = [n for n in DEEP_CHAIN_LIBRARIES if use(n) and not (args.quick and n == "mygrad")]
    run_deep_chain(results, settings.levels, settings.deep_repeats, deep)
    results.load = meter.summary(args.load_note)

    report = render(results)
    print(report)
    if args.write:
        write_readme(report, README)


def profile() -> None:
    """cProfile of the overhead-bound workloads: which engine functions take the time."""
    import cProfile
    import pstats

    step = compgraph_fused_step(*logistic_data(30, 569))
    workloads = {
        "scalar chain of 10,000 muls": compgraph_scalar_chain(10_000),
        "logistic step at 30×569 (fused loss, plain arrays), 300 times": lambda: [
            step() for _ in range(300)
        ],
    }
    for title, run in workloads.items():
        profiler = cProfile.Profile()
        profiler.enable()
        run()
        profiler.disable()
        print(f"\n== {title}")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(8)


# -- the tables ------------------------------------------------------------------------------

STEP_ROW_TITLES = {
    "numpy": "NumPy by hand (the lesson's dZ = A − Y)",
    "chain rule by hand": "chain rule by hand, no simplification",
    "compgraph": "compgraph, the lesson's graph",
    VERSUS_CHAIN_RULE: "compgraph, the lesson's graph ÷ chain rule by hand",
    "compgraph fused": "compgraph fused (`sigmoid_cross_entropy`)",
    "compgraph fused, X as Node": "compgraph fused, X wrapped in a Node",
    "compgraph compiled": "compgraph compiled (`cg.compile`), the lesson's graph",
    "compgraph compiled fused": "compgraph compiled, fused",
    "jax.jit fused": "`jax.jit`, fused (log1p form)",
    "autograd": "autograd, the lesson's graph",
    "mygrad": "MyGrad, the lesson's graph",
    "torch": "torch, the lesson's graph",
    "torch fused": "torch fused (`binary_cross_entropy_with_logits`)",
}


def times(ratio: float | None) -> str:
    return "–" if ratio is None else f"{ratio:.2f}x"


def render(results: Results) -> str:
    """The README's results section: the header with the load, the tables, the targets."""
    mode = " (quick mode: fewer repeats, a shorter chain)" if results.quick else ""
    lines = [
        f"Measured {datetime.date.today().isoformat()} on {results.machine}{mode}.",
        "",
        f"Load: {results.load}.",
        "",
        "**One logistic-regression step** (the cost J and dJ/dw, dJ/db; X and Y plain arrays "
        "unless said), NumPy's median time and every other row's median time over NumPy's, "
        "each timed interleaved with NumPy (the ÷ row: with the chain rule by hand):",
        "",
    ]
    shapes = list(results.steps)
    lines += [
        "| implementation | " + " | ".join(shapes) + " |",
        "|---|" + "---|" * len(shapes),
    ]
    for key, title in STEP_ROW_TITLES.items():
        cells = []
        for shape in shapes:
            value = results.steps[shape].get(key)
            cells.append(f"{1e3 * value:.2f} ms" if key == "numpy" else times(value))
        if any(cell != "–" for cell in cells):
            lines.append(f"| {title} | " + " | ".join(cells) + " |")

    d = results.descent
    lines += [
        "",
        f"**{results.iterations} gradient-descent iterations** at {shape_label(*DESCENT_SHAPE)} "
        "(step and update):",
        "",
        "| NumPy by hand | compgraph, the lesson's graph | compgraph fused |",
        "|---|---|---|",
        f"| {d['numpy']:.2f} s | {times(d.get('compgraph'))} | {times(d.get('compgraph fused'))} |",
        "",
        f"**Graphs of scalars**, µs per op (forward + backward), one round-robin per row; the "
        f"chain is `y = y * a` {SCALAR_LENGTH:,} times, the reused value "
        f"`total = total + x * k` for {SCALAR_LENGTH:,} constants k (2 ops a term):",
        "",
        "| workload | NumPy by hand (0-d) | compgraph | micrograd | torch "
        "| compgraph ÷ micrograd | compgraph ÷ torch |",
        "|---|---|---|---|---|---|---|",
    ]
    for workload, title in (("chain", "scalar chain"), ("reused", "a value reused")):
        row = results.scalars[workload]
        cells = [f"{row[k]:.2f}" if k in row else "–" for k in SCALAR_BUILDERS[workload]]
        cells += [times(per_op_ratio(results, workload, peer)) for peer in ("micrograd", "torch")]
        lines.append(f"| {title} | " + " | ".join(cells) + " |")

    lines += [
        "",
        f"**Deep chain** `y = y * a + b`, {results.levels:,} levels (2 ops, so 2 nodes, a "
        "level), build + backward, each library in a fresh process (median seconds; peak "
        "resident memory above the process's start, per node):",
        "",
        "| library | seconds | peak bytes per node | time ÷ torch's |",
        "|---|---|---|---|",
    ]
    torch_seconds = results.deep.get("torch", (None,))[0]
    for name, (seconds, per_node) in results.deep.items():
        ratio = seconds / torch_seconds if torch_seconds else None
        lines.append(f"| {name} | {seconds:.2f} | {per_node:.0f} | {times(ratio)} |")

    if results.network:
        n = results.network
        lines += [
            "",
            "**The week-3 network step** (2-4-1 tanh network on the 400 flower points: cost "
            "and the four gradients), NumPy's median time (the course's hand-written "
            "backward_propagation) and each row's over it:",
            "",
            "| NumPy by hand | compgraph | compgraph compiled | `jax.jit` |",
            "|---|---|---|---|",
            f"| {1e3 * n['numpy']:.3f} ms | {times(n.get('compgraph'))} "
            f"| {times(n.get('compgraph compiled'))} | {times(n.get('jax.jit network'))} |",
        ]
    if results.compiled_chain is not None:
        lines += [
            "",
            f"**Compiled scalar chain**: {results.compiled_chain:.3f} µs per op (the chain "
            "above through `cg.compile`); the first call of a freshly compiled lesson step "
            f"at 30×569 costs {results.trace_steps:.1f} eager steps.",
        ]

    lines += ["", "**Targets** (issue 14), checked from the numbers above:", ""]
    lines += ["| target | measured | met |", "|---|---|---|"]
    lines += [f"| {t} | {m} | {ok} |" for t, m, ok in targets(results)]
    return "\n".join(lines)


def per_op_ratio(results: Results, workload: str, peer: str) -> float | None:
    row = results.scalars.get(workload, {})
    return row["compgraph"] / row[peer] if peer in row and "compgraph" in row else None


def targets(results: Results) -> list[tuple[str, str, str]]:
    """(target, measured, met) for each target of issue 14 this run can check."""
    rows = []

    def check(target: str, value: float | None, limit: float, text: str | None = None):
        if value is None:
            rows.append((target, "– (peer not installed)", "–"))
        else:
            # Three decimals: "1.00x ... no" would read as a contradiction.
            measured = text or f"{value:.3f}x"
            rows.append((target, measured, "yes" if value <= limit else "no"))

    for n, m in SHAPES:
        shape = shape_label(n, m)
        limit = 1.0 if (n, m) in LARGE_SHAPES else 2.0
        value = results.steps.get(shape, {}).get("compgraph fused")
        check(f"fused step at {shape} ≤ {limit:.2f}x NumPy", value, limit)
    for n, m in LARGE_SHAPES:
        shape = shape_label(n, m)
        value = results.steps.get(shape, {}).get(VERSUS_CHAIN_RULE)
        check(f"lesson's graph at {shape} ≤ 1.10x chain rule by hand", value, 1.10)
    check(
        f"{results.iterations} descent iterations, fused, ≤ 1.00x NumPy",
        results.descent.get("compgraph fused"),
        1.0,
    )
    for workload, title in (("chain", "scalar chain"), ("reused", "reused value")):
        for peer in ("micrograd", "torch"):
            # Faster per op means a ratio below 1; equal is not faster.
            ratio = per_op_ratio(results, workload, peer)
            check(f"{title}: faster per op than {peer}", ratio, 1.0 - 1e-9)
    _compile_targets(results, check)
    torch_seconds = results.deep.get("torch", (None,))[0]
    seconds, per_node = results.deep.get("compgraph", (None, None))
    check(
        f"{results.levels:,}-level chain ≤ 0.60x torch's time",
        seconds / torch_seconds if torch_seconds and seconds else None,
        0.6,
    )
    check(
        f"{results.levels:,}-level chain ≤ 400 bytes per op",
        per_node,
        400,
        None if per_node is None else f"{per_node:.1f} B",
    )
    return rows


def _compile_targets(results: Results, check: Callable[..., None]) -> None:
    """Issue 23's targets, for the rows this run measured."""
    small = results.steps.get(shape_label(30, 569), {})
    if "compgraph compiled" in small:
        check("compiled lesson step at 30×569 ≤ 1.20x NumPy", small["compgraph compiled"], 1.2)
    for n, m in LARGE_SHAPES:
        row = results.steps.get(shape_label(n, m), {})
        if "compgraph compiled" in row and "compgraph" in row:
            ratio = row["compgraph compiled"] / row["compgraph"]
            check(f"compiled lesson step at {shape_label(n, m)} ≤ 1.02x eager", ratio, 1.02)
    network = results.network
    if "compgraph compiled" in network:
        check("compiled week-3 step ≤ 1.30x NumPy", network["compgraph compiled"], 1.3)
        if "jax.jit network" in network:
            ratio = network["compgraph compiled"] / network["jax.jit network"]
            check("compiled week-3 step faster than jax.jit", ratio, 1.0 - 1e-9)
    micrograd = results.scalars.get("chain", {}).get("micrograd")
    if results.compiled_chain is not None and micrograd:
        ratio = results.compiled_chain / micrograd
        check("compiled scalar chain ≤ 0.10x micrograd per op", ratio, 0.1)
    if results.trace_steps is not None:
        text = f"{results.trace_steps:.1f} steps"
        check("tracing a step < 20 eager steps", results.trace_steps, 20.0 - 1e-9, text)


def write_readme(report: str, path: Path) -> None:
    """Replace the text between the results markers of ``path``, atomically."""
    text = path.read_text(encoding="utf-8")
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise ValueError(
            f"write_readme: {path} must hold {BEGIN} and {END} once each, around the results"
        )
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    write_atomically(path, f"{head}{BEGIN}\n{report}\n{END}{tail}")


if __name__ == "__main__":
    main()
