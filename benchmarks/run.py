"""compgraph against hand-written NumPy (and autograd, MyGrad, PyTorch when installed).

A plain script rather than pytest-benchmark or asv: every workload needs the NumPy baseline
and each library timed *interleaved in the same process* (round-robin repeats), so that a
noisy neighbour or a CPU-frequency change hits all of them alike, and the result is a ratio.
Medians of the repeats are reported. The deep chain runs in a fresh subprocess per library,
so its peak memory (max RSS above the process's own baseline) is measured cleanly.

    python benchmarks/run.py            # full run (a few minutes)
    python benchmarks/run.py --quick    # under a minute
    python benchmarks/run.py --write    # also rewrite the table in benchmarks/README.md
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
from collections.abc import Callable
from pathlib import Path

# PyTorch's OpenMP threads otherwise spin for a while after each op, taking the second
# core from whatever is timed next.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

import compgraph as cg

HERE = Path(__file__).resolve().parent
PEERS = ("autograd", "mygrad", "torch")
Step = Callable[[], object]


# -- the logistic-regression step: cost J and dJ/dw, dJ/db ----------------------------------


def logistic_data(n: int, m: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, m))
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    w = rng.normal(size=(n, 1)) * 0.01
    return w, 0.1, X, Y


def numpy_step(w, b, X, Y) -> Step:
    # The lesson's vectorized implementation, np.dot and all.
    def step():
        m = X.shape[1]
        A = 1 / (1 + np.exp(-(np.dot(w.T, X) + b)))
        cost = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
        dZ = A - Y
        return cost, np.dot(X, dZ.T) / m, np.mean(dZ)

    return step


def compgraph_step(w, b, X, Y) -> Step:
    Xn = cg.Node(X, requires_grad=False)
    wn, bn = cg.Node(w), cg.Node(b)

    def step():
        A = cg.sigmoid(wn.T @ Xn + bn)
        J = -cg.mean(Y * cg.log(A) + (1 - Y) * cg.log(1 - A))
        J.backward()
        return J.value, wn.grad, bn.grad

    return step


def compgraph_fused_step(w, b, X, Y) -> Step | None:
    if not hasattr(cg, "sigmoid_cross_entropy"):
        return None
    Xn = cg.Node(X, requires_grad=False)
    wn, bn = cg.Node(w), cg.Node(b)

    def step():
        J = cg.mean(cg.sigmoid_cross_entropy(wn.T @ Xn + bn, Y))
        J.backward()
        return J.value, wn.grad, bn.grad

    return step


def autograd_step(w, b, X, Y) -> Step:
    import autograd.numpy as anp
    from autograd import value_and_grad

    def cost(w, b):
        A = 1 / (1 + anp.exp(-(anp.dot(w.T, X) + b)))
        return -anp.mean(Y * anp.log(A) + (1 - Y) * anp.log(1 - A))

    f = value_and_grad(cost, argnum=(0, 1))
    return lambda: f(w, b)


def mygrad_step(w, b, X, Y) -> Step:
    import mygrad as mg

    wt, bt = mg.tensor(w), mg.tensor(b)

    def step():
        A = 1 / (1 + mg.exp(-(mg.matmul(wt.T, X) + bt)))
        J = -mg.mean(Y * mg.log(A) + (1 - Y) * mg.log(1 - A))
        J.backward()
        return J.item(), wt.grad, bt.grad

    return step


def torch_step(w, b, X, Y) -> Step:
    import torch

    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)

    def step():
        wt.grad = bt.grad = None
        A = torch.sigmoid(wt.T @ Xt + bt)
        J = -torch.mean(Yt * torch.log(A) + (1 - Yt) * torch.log(1 - A))
        J.backward()
        return J.item(), wt.grad, bt.grad

    return step


STEP_BUILDERS = {
    "numpy": numpy_step,
    "compgraph": compgraph_step,
    "compgraph fused": compgraph_fused_step,
    "autograd": autograd_step,
    "mygrad": mygrad_step,
    "torch": torch_step,
}


def check_agreement(steps: dict[str, Step]) -> None:
    """Every library must compute the same cost and gradients as the NumPy baseline."""
    cost, dw, db = (np.asarray(v, dtype=np.float64) for v in steps["numpy"]())
    for name, step in steps.items():
        got = step()
        if name == "autograd":
            got = (got[0], *got[1])
        got_cost, got_dw, got_db = (as_float64(v) for v in got)
        agrees = (
            np.allclose(got_cost, cost, rtol=1e-9)
            and np.allclose(got_dw, dw, rtol=1e-7, atol=1e-12)
            and np.allclose(got_db, db, rtol=1e-7, atol=1e-12)
        )
        if not agrees:
            raise AssertionError(f"{name} disagrees with the NumPy baseline")


def as_float64(value) -> np.ndarray:
    """A result of any library as a NumPy array (torch tensors are detached first)."""
    if hasattr(value, "detach"):
        value = value.detach()
    return np.asarray(value, dtype=np.float64)


def gradient_descent(builder_name: str, w, b, X, Y, iterations: int, lr: float = 0.005) -> Step:
    if builder_name == "numpy":

        def run():
            wv, bv = w.copy(), b
            m = X.shape[1]
            for _ in range(iterations):
                A = 1 / (1 + np.exp(-(np.dot(wv.T, X) + bv)))
                -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))  # the cost, as propagate gives
                dZ = A - Y
                wv -= lr * (np.dot(X, dZ.T) / m)
                bv -= lr * np.mean(dZ)
            return wv

        return run

    fused = builder_name == "compgraph fused"

    def run():
        Xn = cg.Node(X, requires_grad=False)
        wn, bn = cg.Node(w), cg.Node(b)
        for _ in range(iterations):
            Z = wn.T @ Xn + bn
            if fused:
                J = cg.mean(cg.sigmoid_cross_entropy(Z, Y))
            else:
                A = cg.sigmoid(Z)
                J = -cg.mean(Y * cg.log(A) + (1 - Y) * cg.log(1 - A))
            J.backward()
            wn.value -= lr * wn.grad
            bn.value -= lr * bn.grad
        return wn.value

    return run


# -- scalar graphs --------------------------------------------------------------------------


def scalar_chain(length: int) -> Step:
    def run():
        a = cg.Node(1.0000001)
        y = cg.Node(0.5)
        for _ in range(length):
            y = y * a
        y.backward()

    return run


def numpy_scalar_chain(length: int) -> Step:
    """The same chain by hand on 0-d arrays: forward products, then the reverse sweep."""

    def run():
        a = np.array(1.0000001)
        values = [np.array(0.5)]
        for _ in range(length):
            values.append(values[-1] * a)
        g, da = np.array(1.0), np.array(0.0)
        for value in reversed(values[:-1]):
            da = da + g * value
            g = g * a
        return da

    return run


def reused_value(terms: int) -> Step:
    def run():
        x = cg.Node(1.5)
        total = x * 1.0
        for i in range(1, terms):
            total = total + x * float(i)
        total.backward()

    return run


# -- measurement ----------------------------------------------------------------------------


def interleaved(steps: dict[str, Step], repeats: int) -> dict[str, float]:
    """Median seconds per call of each step, timed round-robin."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for step in steps.values():
        step()  # warm-up: imports, caches, first allocation
    gc.collect()
    names = list(steps)
    for round_ in range(repeats):
        # Rotate the order, so that no library always runs right after the same one (thread
        # pools that spin after their work would otherwise slow one neighbour every time).
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            steps[name]()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def ratios_to_numpy(steps: dict[str, Step], repeats: int) -> dict[str, float]:
    """Each library's median time over NumPy's, each timed in a pair with NumPy alone.

    Pairs, not one round-robin of all libraries: with X larger than the caches, what ran
    just before a step (and how it left the caches and the BLAS threads) shifts its time,
    and in a round-robin of five that shift fell unevenly on NumPy and the rest.
    """
    result: dict[str, float] = {}
    for name, step in steps.items():
        if name == "numpy":
            continue
        medians = interleaved({"numpy": steps["numpy"], name: step}, repeats)
        result.setdefault("numpy", medians["numpy"])
        result[name] = medians[name] / medians["numpy"]
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
elif library == 'mygrad':
    import mygrad as mg
    a, b, x = mg.tensor(1.0000001), mg.tensor(1e-7), mg.tensor(0.5)
elif library == 'torch':
    import torch
    a, b = torch.tensor(1.0000001, dtype=torch.float64), torch.tensor(1e-7, dtype=torch.float64)
    x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
base = status('VmRSS')
start = time.perf_counter()
y = x
for _ in range(levels):
    y = y * a + b
y.backward()
seconds = time.perf_counter() - start
print(seconds, status('VmHWM') - base)
"""


def deep_chain(library: str, levels: int) -> tuple[float, float] | None:
    result = subprocess.run(
        [sys.executable, "-c", DEEP_CHAIN_CHILD, library, str(levels)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if result.returncode != 0:
        return None
    seconds, peak = (float(v) for v in result.stdout.split())
    return seconds, peak / (2 * levels)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"NumPy {np.__version__}, compgraph {cg.__version__}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes")
    parser.add_argument("--write", action="store_true", help="rewrite benchmarks/README.md")
    parser.add_argument("--no-peers", action="store_true", help="skip autograd, MyGrad, torch")
    parser.add_argument(
        "--profile", action="store_true", help="print where compgraph's time goes, then stop"
    )
    args = parser.parse_args(argv)
    if args.profile:
        profile()
        return

    peers = [] if args.no_peers else [p for p in PEERS if importlib.util.find_spec(p)]
    repeats = 5 if args.quick else 15
    rows: list[dict] = []

    shapes = [(1000, 10000), (12288, 209), (30, 569), (10, 1_000_000)]
    for n, m in shapes:
        data = logistic_data(n, m)
        steps = {}
        for name in ("numpy", "compgraph", "compgraph fused", *peers):
            step = STEP_BUILDERS[name](*data)
            if step is not None:
                steps[name] = step
        check_agreement(steps)
        reps = repeats * (20 if n * m < 100_000 else 1)
        rows.append(
            {
                "workload": f"one logistic-regression step, n×m = {n}×{m}",
                "unit": "ratio",
                **ratios_to_numpy(steps, reps),
            }
        )
        print(rows[-1], flush=True)

    iterations = 200 if args.quick else 2000
    data = logistic_data(12288, 209)
    runs = {name: gradient_descent(name, *data, iterations) for name in ("numpy", "compgraph")}
    if hasattr(cg, "sigmoid_cross_entropy"):
        runs["compgraph fused"] = gradient_descent("compgraph fused", *data, iterations)
    rows.append(
        {
            "workload": f"{iterations} gradient-descent iterations at 12288×209",
            "unit": "ratio",
            **ratios_to_numpy(runs, 3),
        }
    )
    print(rows[-1], flush=True)

    length = 10_000
    medians = interleaved(
        {"numpy": numpy_scalar_chain(length), "compgraph": scalar_chain(length)}, repeats
    )
    rows.append(
        {
            "workload": "one scalar op, forward + backward (chain of 10,000)",
            "unit": "µs/op",
            "numpy": medians["numpy"] / length * 1e6,
            "compgraph": medians["compgraph"] / length * 1e6,
        }
    )
    print(rows[-1], flush=True)
    medians = interleaved({"compgraph": reused_value(length)}, repeats)
    rows.append(
        {
            "workload": "a value reused in 10,000 terms (2 ops/term), per op",
            "unit": "µs/op",
            "compgraph": medians["compgraph"] / (2 * length) * 1e6,
        }
    )
    print(rows[-1], flush=True)

    levels = 100_000 if args.quick else 1_000_000
    chain = {
        "workload": f"chain {levels:,} levels deep (2 ops/level), build + backward",
        "unit": "s, B/op",
    }
    for library in ("compgraph", *[p for p in peers if p in ("mygrad", "torch")]):
        result = deep_chain(library, levels)
        if result is not None:
            chain[library] = f"{result[0]:.2f} s, {result[1]:.0f} B/op"
    rows.append(chain)
    print(rows[-1], flush=True)

    report = render_table(rows, peers)
    print(report)
    if args.write:
        write_readme(report, args.quick)


def profile() -> None:
    """cProfile of the overhead-bound workloads: which engine functions take the time."""
    import cProfile
    import pstats

    workloads = {
        "scalar chain of 10,000 muls": scalar_chain(10_000),
        "logistic step at 30×569 (fused loss), 300 times": lambda: [
            step() for step in [compgraph_fused_step(*logistic_data(30, 569))] * 300
        ],
    }
    for title, run in workloads.items():
        profiler = cProfile.Profile()
        profiler.enable()
        run()
        profiler.disable()
        print(f"\n== {title}")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(8)


def render_table(rows: list[dict], peers: list[str]) -> str:
    columns = ["compgraph", "compgraph fused", *peers]
    lines = [
        "| workload | unit | NumPy by hand | " + " | ".join(columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = " | ".join(format_cell(row, key) for key in columns)
        lines.append(
            f"| {row['workload']} | {row['unit']} | {format_cell(row, 'numpy')} | {cells} |"
        )
    return "\n".join(lines)


def format_cell(row: dict, key: str) -> str:
    value = row.get(key)
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if row["unit"] == "ratio":
        return f"{value * 1e3:.2f} ms" if key == "numpy" else f"{value:.2f}x"
    return f"{value:.2f}"


def write_readme(table: str, quick: bool) -> None:
    path = HERE / "README.md"
    text = path.read_text()
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    stamp = (
        f"Measured {datetime.date.today().isoformat()} on {machine()}"
        f"{' (quick mode)' if quick else ''}; ratios are medians of interleaved repeats "
        "relative to hand-written NumPy in the same process."
    )
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    path.write_text(f"{head}{begin}\n{stamp}\n\n{table}\n{end}{tail}")


if __name__ == "__main__":
    main()
