"""The compiled logistic-regression step on Dask (issue 21): the route's cost, and out of core.

1. X in memory: the compiled step on NumPy against the same step on a chunked Dask array of
   the same X (threaded scheduler): the ratio is what the Dask route costs.
2. X on disk (a memory-mapped .npy file read as a Dask array, chunked by rows): seconds per
   gradient-descent step and GB of X per second for compgraph (one ``dask.compute`` of the
   compiled step), for dask-glm's ``gradient_descent`` (hand-written gradient, with its own
   line search) when installed, and for reading X once (``X.sum()``, the limit of a step).
3. A network's step in memory: forward and backward of ``[n, 20, 7, 1]`` (ReLU, the shared
   training loop's compiled step) on NumPy against the same on the chunked Dask array.

    python benchmarks/dask_logistic.py [--rows 1000000] [--features 50] [--steps 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np

import compgraph as cg
from compgraph.models import distributed, networks


def network_cost(parameters: dict[str, Any], X: Any, Y: Any) -> Any:
    """The deep network's cost: ReLU hidden layers, J = mean(L(Z[L], Y))."""
    A, layers = X, len(parameters) // 2
    for layer in range(1, layers + 1):
        Z = parameters[f"W{layer}"] @ A + parameters[f"b{layer}"]
        A = cg.relu(Z)
    return cg.mean(cg.sigmoid_cross_entropy(Z, Y))


def best_of(fn: Any, repeats: int) -> float:
    fn()  # trace, warm caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--chunk-mb", type=float, default=64.0)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args(argv)
    m, n = args.rows, args.features
    rows = max(1, int(args.chunk_mb * 1e6 // (8 * n)))
    rng = np.random.default_rng(0)
    step = distributed.descent_step
    rate = np.float64(0.1)

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "X.npy"
        X_file = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(m, n))
        for start in range(0, m, rows):
            X_file[start : start + rows] = rng.normal(size=(min(rows, m - start), n))
        X_file.flush()
        y = (np.asarray(X_file[:, 0]) + 0.5 * rng.normal(size=m) > 0).astype(np.float64)
        gb = m * n * 8 / 1e9
        print(f"X: {m} x {n} float64 = {gb:.2f} GB, chunks of {rows} rows ({args.chunk_mb:g} MB)")

        # 1. in memory: the route's cost
        X_mem = np.array(X_file)
        w, b = np.zeros((n, 1)), np.float64(0.0)
        columns, Y = X_mem.T, y.reshape(1, -1)
        numpy_step = best_of(lambda: step(w, b, columns, Y, rate), args.steps)
        X_dask = da.from_array(X_mem, chunks=(rows, n))
        Y_dask = da.from_array(y, chunks=rows).reshape(1, -1)
        dask_step = best_of(lambda: dask.compute(*step(w, b, X_dask.T, Y_dask, rate)), args.steps)
        print(f"in memory: NumPy {numpy_step:.3f} s/step, Dask {dask_step:.3f} s/step "
              f"({dask_step / numpy_step:.2f}x NumPy)")  # fmt: skip

        # 3. (timed here, printed last) a network's step: the route's cost beyond one layer
        layers = [n, 20, 7, 1]
        network = cg.compile(cg.value_and_grad(network_cost))
        parameters = networks.initialize_parameters(layers, initialization="he")
        numpy_network = best_of(lambda: network(parameters, columns, Y), args.steps)
        dask_network = best_of(
            lambda: dask.compute(*network(parameters, X_dask.T, Y_dask)), args.steps
        )

        # 2. out of core: read from the file every step
        X_disk = da.from_array(np.load(path, mmap_mode="r"), chunks=(rows, n))
        Y_disk = da.from_array(y, chunks=rows).reshape(1, -1)
        read = best_of(lambda: X_disk.sum().compute(), args.steps)
        ours = best_of(lambda: dask.compute(*step(w, b, X_disk.T, Y_disk, rate)), args.steps)
        print(f"{'out of core':32} {'s/step':>8} {'GB/s':>8}")
        print(f"{'read X once (the limit)':32} {read:8.3f} {gb / read:8.2f}")
        print(f"{'compgraph compiled step':32} {ours:8.3f} {gb / ours:8.2f}")
        print(f"network {layers} in memory: NumPy {numpy_network:.3f} s/step, Dask "
              f"{dask_network:.3f} s/step ({dask_network / numpy_network:.2f}x NumPy)")  # fmt: skip
        try:
            from dask_glm.algorithms import gradient_descent  # type: ignore[import-not-found]
            from dask_glm.families import Logistic  # type: ignore[import-not-found]
        except ImportError:
            print("dask-glm is not installed (pip install dask-glm): its row is left out")
            return 0
        y_disk = da.from_array(y, chunks=rows)
        iterations = args.steps
        start = time.perf_counter()
        gradient_descent(X_disk, y_disk, max_iter=1, family=Logistic)  # warm-up
        start = time.perf_counter()
        gradient_descent(X_disk, y_disk, max_iter=iterations, family=Logistic, tol=0)
        glm = (time.perf_counter() - start) / iterations
        print(f"{'dask-glm gradient_descent':32} {glm:8.3f} {gb / glm:8.2f}")
        print(f"compgraph / dask-glm: {ours / glm:.2f}x the time per step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
