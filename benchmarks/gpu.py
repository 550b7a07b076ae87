"""Compiled steps on a GPU against the same compiled steps on NumPy (issue 21).

Three workloads: the lesson's logistic-regression step (12288 features, 209 images), the
week-4 network's training step (12288-20-7-5-1, 209 images) and a large logistic regression
(1000 features, 200000 examples). Each is one ``cg.compile``d function, traced once and
replayed on NumPy arrays and on the GPU's (CuPy, or PyTorch on CUDA), in float64 and float32.

Without a GPU it says so and exits 0; ``--cpu-stand-in`` then times PyTorch on the CPU in
the GPU's place, labelled as such (the route's overhead, not a GPU's speed).

    python benchmarks/gpu.py [--repeats 20] [--cpu-stand-in]
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import compgraph as cg


def logistic_step(w: Any, b: Any, X: Any, Y: Any) -> Any:
    def cost(w: Any, b: Any) -> Any:
        return cg.mean(cg.sigmoid_cross_entropy(w.T @ X + b, Y))

    J, (dw, db) = cg.value_and_grad(cost, argnums=(0, 1))(w, b)
    return J, w - 0.005 * dw, b - 0.005 * db


def network_step(params: Any, X: Any, Y: Any) -> Any:
    def cost(params: Any) -> Any:
        A = X
        layers = len(params) // 2
        for layer in range(1, layers):
            A = cg.relu(params[f"W{layer}"] @ A + params[f"b{layer}"])
        Z = params[f"W{layers}"] @ A + params[f"b{layers}"]
        return cg.mean(cg.sigmoid_cross_entropy(Z, Y))

    J, grads = cg.value_and_grad(cost)(params)
    return J, {k: params[k] - 0.0075 * grads[k] for k in params}


def workloads(dtype: Any) -> dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]:
    rng = np.random.default_rng(0)

    def floats(*shape: int, scale: float = 1.0) -> np.ndarray:
        return (rng.normal(size=shape) * scale).astype(dtype)

    labels = (rng.random((1, 209)) > 0.5).astype(dtype)
    sizes = [12288, 20, 7, 5, 1]
    params = {}
    for layer in range(1, len(sizes)):
        params[f"W{layer}"] = floats(sizes[layer], sizes[layer - 1], scale=0.01)
        params[f"b{layer}"] = np.zeros((sizes[layer], 1), dtype)
    return {
        "lesson logistic step (12288 x 209)": (
            logistic_step,
            (floats(12288, 1, scale=0.01), dtype(0.0), floats(12288, 209), labels),
        ),
        "week-4 network step (12288-20-7-5-1)": (
            network_step,
            (params, floats(12288, 209), labels),
        ),
        "large logistic step (1000 x 200000)": (
            logistic_step,
            (
                floats(1000, 1, scale=0.01),
                dtype(0.0),
                floats(1000, 200_000),
                (rng.random((1, 200_000)) > 0.5).astype(dtype),
            ),
        ),
    }


def device_route(stand_in: bool) -> tuple[str, Callable[[Any], Any], Callable[[], None]] | None:
    """(label, convert, synchronise) of the GPU's library, or torch-CPU as a stand-in."""
    try:
        import cupy  # type: ignore[import-not-found]

        if cupy.cuda.is_available():
            name = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
            return f"CuPy on {name}", cupy.asarray, cupy.cuda.Device().synchronize
    except ImportError:
        pass
    try:
        import torch
    except ImportError:
        return None
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        return (
            f"PyTorch on {name}",
            lambda v: torch.asarray(np.array(v), device="cuda"),
            torch.cuda.synchronize,
        )
    if stand_in:
        return (
            "PyTorch on the CPU (a stand-in: NO GPU here)",
            lambda v: torch.asarray(np.array(v)),
            lambda: None,
        )
    return None


def convert_tree(value: Any, convert: Callable[[Any], Any]) -> Any:
    if isinstance(value, dict):
        return {k: convert_tree(v, convert) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(convert_tree(v, convert) for v in value)
    return convert(value)


def seconds_per_call(fn: Callable[[], Any], synchronise: Callable[[], None], repeats: int) -> float:
    fn()  # the trace (first call) and warm-up
    synchronise()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        synchronise()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--cpu-stand-in", action="store_true", help="time torch-CPU if no GPU")
    args = parser.parse_args(argv)
    route = device_route(args.cpu_stand_in)
    if route is None:
        print("no GPU here (neither CuPy nor PyTorch sees CUDA): nothing to time; "
              "--cpu-stand-in times PyTorch on the CPU instead")  # fmt: skip
        return 0
    label, convert, synchronise = route
    print(f"compiled steps, NumPy against {label}: seconds per step (best of 3)")
    print(f"{'workload':40} {'dtype':8} {'NumPy':>10} {'device':>10} {'speed-up':>9}")
    for dtype in (np.float64, np.float32):
        for name, (fn, arguments) in workloads(dtype).items():
            step = cg.compile(fn)
            on_device = convert_tree(arguments, convert)
            numpy_time = seconds_per_call(
                functools.partial(step, *arguments), lambda: None, args.repeats
            )
            device_time = seconds_per_call(
                functools.partial(step, *on_device), synchronise, args.repeats
            )
            print(
                f"{name:40} {np.dtype(dtype).name:8} {numpy_time:10.4f} {device_time:10.4f} "
                f"{numpy_time / device_time:8.1f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
