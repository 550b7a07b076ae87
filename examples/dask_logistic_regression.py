"""Logistic regression and a network on a Dask array, on a dask.distributed cluster (issue 21).

X is made chunk by chunk by the workers and never gathered: each gradient-descent step is
one ``dask.compute`` of the compiled step (forward, backward and, for logistic regression,
the update), which reads X once. Then a network with a hidden layer learns what the line
cannot (the sign of x₀·x₁), on the same X, and both are scored on all of X, chunk by
chunk. The same code runs on a cluster of many machines: pass its scheduler's address
(``--scheduler tcp://10.0.0.1:8786``) instead of starting a local one.

    pip install -e ".[dask]" && python examples/dask_logistic_regression.py [--fast]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from compgraph.logistic import LogisticRegression
from compgraph.networks import NetworkClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a small X and few steps")
    parser.add_argument("--scheduler", help="a running cluster's scheduler address")
    args = parser.parse_args()
    try:
        import dask.array as da
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SystemExit('this example needs Dask: pip install -e ".[dask]"') from None

    rows, features = (200_000, 20) if args.fast else (4_000_000, 50)
    # Chunks of whole rows, ~30 MB each: large enough that each task's millisecond of
    # scheduling is small beside reading it, small enough that every worker holds a few.
    chunk = max(1, 30_000_000 // (8 * features))
    truth = np.linspace(-1.0, 1.0, features)
    X = da.random.default_rng(0).normal(size=(rows, features), chunks=(chunk, features))
    y = (X @ truth + da.random.default_rng(1).normal(size=rows, chunks=chunk) > 0).astype(int)
    print(f"X: {rows} x {features} float64, {X.nbytes / 1e9:.2f} GB in {X.numblocks[0]} chunks")

    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False)
        client = Client(cluster)
    with client:
        model = LogisticRegression(learning_rate=1.0, num_iterations=5 if args.fast else 30)
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
        print(f"fit: {model.n_iter_} steps in {seconds:.1f} s, one dask.compute each")
        for i in (0, model.n_iter_ - 1):
            print(f"Cost after iteration {i}: {model.cost_history_[i]:f}")
        # Scored chunk by chunk (predict on a Dask X is lazy): one more pass over X.
        print(f"accuracy on all of X: {100 * model.score(X, y):.1f} %")

        product = (X[:, 0] * X[:, 1] > 0).astype(int)  # no line separates its classes
        network = NetworkClassifier(
            hidden_layer_sizes=(8,), solver="adam", learning_rate=0.05,
            num_iterations=20 if args.fast else 100, seed=0,
        )  # fmt: skip
        start = time.perf_counter()
        network.fit(X, product)
        seconds = time.perf_counter() - start
        print(f"network fit: {network.n_iter_} steps in {seconds:.1f} s, one dask.compute each")
        print(f"network accuracy on all of X: {100 * network.score(X, product):.1f} %")
        line = model.fit(X, product).score(X, product)
        print(f"logistic accuracy on the same labels: {100 * line:.1f} %")
    if not args.scheduler:
        cluster.close()


if __name__ == "__main__":
    main()
