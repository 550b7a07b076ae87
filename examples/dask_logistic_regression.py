"""Logistic regression on a Dask array, on a dask.distributed cluster (issue 21).

X is made chunk by chunk by the workers and never gathered: each gradient-descent step is
one ``dask.compute`` of the compiled step (forward, backward and the update), which reads X
once. The same code runs on a cluster of many machines: pass its scheduler's address
(``--scheduler tcp://10.0.0.1:8786``) instead of starting a local one.

    pip install -e ".[dask]" && python examples/dask_logistic_regression.py [--fast]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from compgraph.logistic import LogisticRegression


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
        sample = X[:10_000].compute()
        labels = y[:10_000].compute()
        print(f"accuracy on the first 10000 rows: {100 * model.score(sample, labels):.1f} %")
    if not args.scheduler:
        cluster.close()


if __name__ == "__main__":
    main()
