"""Compiled graphs on any Array API library: NumPy, CuPy, PyTorch, Dask, JAX, array-api-strict.

``cg.compile`` traces on NumPy (the eager engine) and writes one line of Python per op,
calling the array namespace ``xp``. This module lets that same code run on the caller's
library: the namespace is resolved once per call (``array_api_compat.array_namespace``), the
arguments are checked to share one library and one device, and the code's constants and
literals are made on that device. An op whose NumPy forward is more than one standard
expression gets a portable forward here, in one table (``PORTABLE``), written only with
functions of the Array API standard, so it runs on every library that implements it.

What the standard lacks, and how each library is served (docs/how-to/backends.md):

============================  ===================================================================
scatter-add (index's vjp)     torch ``index_put_(..., accumulate=True)`` on fresh zeros; JAX
                              ``.at[index].add``; CuPy ``cupyx.scatter_add``; any other library
                              (Dask, array-api-strict) a one-hot matrix product, which sums
                              repeated indices and stays lazy on Dask
stable sigmoid, logsumexp     1 / (1 + e^-x) (e^-x = inf gives the exact limit 0) and the
                              max-shifted ln Σ e^x, in standard functions
floating-point flags          none outside NumPy: the results are checked for inf/NaN with one
                              reduction per call; on Dask the check is a task of the same graph,
                              so it runs inside the user's ``dask.compute``
negative slice steps,         PyTorch has no negative strides, and applies an int before the
ints with index arrays        arrays: ``x[5:1:-2]`` runs as a positive slice of the same
                              elements, flipped (``flip_steps``); with arrays, a gather at
                              NumPy's flat positions (``flat_positions``); ``code_for`` writes
                              such lines ``xp.getitem(x, index)`` on torch
float64 on JAX                only under ``jax.enable_x64``: without it, refused (as on a device
                              without float64), not truncated with a warning
``.T`` beyond 2-D             ``xp.permute_dims`` (None reverses the axes, as NumPy's ``.T``;
                              axes from the end made non-negative for JAX)
``np.concatenate``, astype    ``xp.concat``, ``xp.astype``
============================  ===================================================================
"""

from __future__ import annotations

import ast
import builtins
import functools
import math
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from compgraph import ops
from compgraph.errors import NonFiniteError, TraceError

__all__ = [
    "PORTABLE",
    "Backend",
    "code_for",
    "flat_positions",
    "flip_steps",
    "is_foreign_array",
    "namespace_for",
    "numpy_dtype",
    "resolve",
    "select",
    "torch_differs",
    "value_test",
]

#: The libraries whose arrays compiled functions accept besides NumPy's, by top-level module.
_LIBRARIES = ("torch", "cupy", "jax", "jaxlib", "dask", "array_api_strict")
_INSTALL = (
    "install array-api-compat (pip install 'compgraph[dask]' or 'compgraph[gpu]') to run "
    "compiled functions on arrays of libraries other than NumPy"
)


def is_foreign_array(value: Any) -> bool:
    """Whether ``value`` is an array of an Array API library other than NumPy.

    Example:
        >>> import numpy as np
        >>> is_foreign_array(np.ones(2)), is_foreign_array([1.0])
        (False, False)
    """
    kind = type(value)
    library = kind.__module__.partition(".")[0]
    return library in _LIBRARIES or (
        library != "numpy" and hasattr(kind, "__array_namespace__")  # NumPy's scalars have it
    )


def _library(value: Any) -> str:
    return type(value).__module__.partition(".")[0].replace("jaxlib", "jax")


class Backend:
    """One library's namespace on one device: what compiled code runs on for one call.

    Attributes:
        xp: the library's Array API namespace (array-api-compat's wrapper where it has one).
        device: the device every argument is on, where constants are made.
        library: the library's name ("torch", "dask", "array_api_strict", ...).
        lazy: True for Dask: nothing is computed, errors surface at the user's compute.
    """

    def __init__(self, xp: Any, device: Any, library: str) -> None:
        self.xp = xp
        self.device = device
        self.library = library
        self.lazy = library == "dask"
        # JAX has float64 only while x64 is on (jax.enable_x64, scoped): a backend of its own
        self.float64 = library != "jax" or _jax_x64()
        if not self.float64:
            self.xp = _Float32Only(xp)

    def __repr__(self) -> str:
        return f"Backend({self.library}, device={self.device!r})"

    def _key(self) -> tuple[str, str, bool]:
        return (self.library, str(self.device), self.float64)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Backend) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    # -- values in and out --------------------------------------------------------------------

    def asarray(self, value: Any) -> Any:
        """``value`` (an array, NumPy value or Python number) as this library's array, here."""
        if self.lazy:
            import dask.array as da

            if isinstance(value, da.Array):
                return value
            return da.from_array(np.asarray(value), chunks=-1)  # type: ignore[no-untyped-call]
        if self.library == "torch" and isinstance(value, np.ndarray) and not value.flags.writeable:
            value = value.copy()  # torch warns on read-only memory (compiled constants are)
        if type(value) is float:  # a literal of compiled code: float64, as NumPy makes it
            try:
                return self.xp.asarray(value, dtype=self.xp.float64, device=self.device)
            except (ValueError, TypeError):  # a device without float64 (many GPUs): float32
                return self.xp.asarray(value, dtype=self.xp.float32, device=self.device)
        return self.xp.asarray(value, device=self.device)

    def to_numpy(self, value: Any) -> np.ndarray:
        """A NumPy copy of one of this library's arrays (on the host)."""
        if self.lazy:
            raise TraceError("a Dask array is not brought into memory by cg.compile")
        if self.library == "torch":
            return np.asarray(value.detach().cpu().numpy())
        if self.library == "cupy":
            return np.asarray(value.get())
        if self.library == "array_api_strict":
            import array_api_strict

            return np.from_dlpack(value.to_device(array_api_strict.Device("CPU_DEVICE")))
        return np.asarray(value)

    def stand_in(self, value: Any) -> np.ndarray:
        """A NumPy array of ``value``'s shape and dtype for tracing: its values where they are
        cheap to bring over (an eager library's), else a broadcast 1 that takes no memory
        (Dask's data may not fit in this process)."""
        dtype = numpy_dtype(value)
        if not self.lazy and math.prod(value.shape) <= 1 << 22:
            return self.to_numpy(value).astype(dtype, copy=False)
        return np.broadcast_to(np.ones((), dtype), tuple(value.shape))

    # -- what the standard lacks --------------------------------------------------------------

    def getitem(self, x: Any, index: Any) -> Any:
        """``x[index]`` with NumPy's meaning; on PyTorch, where torch's differs
        (``torch_differs``): a basic index through ``flip_steps``, others by flat positions."""
        if self.library != "torch" or not torch_differs(index):
            return x[index]
        items = index if isinstance(index, tuple) else (index,)
        items = tuple(self.to_numpy(i) if is_foreign_array(i) else i for i in items)
        if _basic_index(items):
            plan = flip_steps(items, tuple(x.shape))
            assert plan is not None
            narrowing, axes, rest = plan
            return self.xp.flip(x[narrowing], axis=axes)[rest]
        positions = self.asarray(flat_positions(items, tuple(x.shape)))
        return self.xp.reshape(x, (-1,))[positions]

    def scatter_add(self, v: Any, index: Any, shape: tuple[int, ...]) -> Any:
        """Zeros of ``shape`` with ``v`` added at ``index``, repeated indices summed."""
        xp = self.xp
        # the index is host data (an attr of the trace), brought here as constants are
        items = index if isinstance(index, tuple) else (index,)
        index = tuple(self.to_numpy(i) if is_foreign_array(i) else i for i in items)
        if _basic_index(index):
            return _basic_scatter(self, v, index, shape)
        if self.library == "torch":
            import torch

            total = torch.zeros(shape, dtype=v.dtype, device=v.device)
            indices = tuple(
                torch.as_tensor(np.asarray(i), device=v.device)
                if isinstance(i, (np.ndarray, list))
                else i
                for i in index
            )
            if all(isinstance(i, torch.Tensor) for i in indices):
                return total.index_put_(indices, v, accumulate=True)
            # ints or slices with the arrays: NumPy's picks, as flat positions (torch_differs)
            positions = flat_positions(index, shape)
            flat_v = xp.reshape(xp.broadcast_to(v, positions.shape), (-1,))
            flat = xp.reshape(total, (-1,))
            flat.index_put_((self.asarray(positions.reshape(-1)),), flat_v, accumulate=True)
            return total
        if self.library == "jax":
            return xp.zeros(shape, dtype=v.dtype).at[index].add(v)
        if self.library == "cupy":
            import cupyx

            total = xp.zeros(shape, dtype=v.dtype)
            cupyx.scatter_add(total, index, v)
            return total
        return _one_hot_scatter(self, v, index, shape)

    def all_finite(self, values: Sequence[Any]) -> bool:
        """One reduction over every value (one device sync), for libraries without FP flags."""
        xp = self.xp
        flags = [xp.all(xp.isfinite(v)) for v in values if _is_float(xp, v)]
        if not flags:
            return True
        together = flags[0]
        for flag in flags[1:]:
            together = xp.logical_and(together, flag)
        return bool(together)

    def checked_lazily(self, value: Any, name: str) -> Any:
        """A Dask array that raises ``NonFiniteError`` naming ``name`` when computed with an
        inf or NaN in it: the check is a task of the same graph, so the user's one compute
        runs it."""
        return value.map_blocks(_refuse_nonfinite, name=False, dtype=value.dtype, what=name)


def _jax_x64() -> bool:
    import jax

    # what JAX makes of a float64 request: itself with x64 on (scoped or not), else float32
    return bool(jax.dtypes.canonicalize_dtype(np.float64) == np.float64)


class _Float32Only:
    """JAX's namespace while x64 is off. JAX makes a float64 request float32 with a warning;
    here it raises, as a device without float64 does (array-api-strict's), so that compiled
    code makes its float64 constants float32 and refuses float64 arguments by name."""

    def __init__(self, xp: Any) -> None:
        self._xp = xp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._xp, name)

    def _refuse(self, dtype: Any) -> None:
        if dtype is not None and np.dtype(dtype) == np.float64:
            raise ValueError(
                "JAX has no float64 while x64 is off (its default): call inside "
                "jax.enable_x64(True), or keep the step float32 (NumPy's rules make a Python "
                "float argument or a float64 constant float64)"
            )

    def asarray(self, value: Any, dtype: Any = None, **kwargs: Any) -> Any:
        self._refuse(dtype if dtype is not None else getattr(value, "dtype", None))
        return self._xp.asarray(value, dtype=dtype, **kwargs)

    def astype(self, x: Any, dtype: Any, **kwargs: Any) -> Any:
        self._refuse(dtype)
        return self._xp.astype(x, dtype, **kwargs)


def _refuse_nonfinite(block: Any, what: str = "a result") -> Any:
    if not np.all(np.isfinite(block)):
        raise NonFiniteError(
            f"compiled code on Dask: {what} holds inf or NaN (a chunk of shape "
            f"{np.shape(block)}); Dask has no floating-point flags, so this is the first "
            "place it is seen. Run the step on a NumPy slice of the data to see the eager "
            "report of the op that made it"
        )
    return block


def _basic_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in items)


def torch_differs(index: Any) -> bool:
    """Whether PyTorch would read ``x[index]`` otherwise than NumPy, or refuse it.

    Its tensors have no negative strides, so a negative slice step raises (and the
    gradients of cumsum and prod reverse an axis); and it applies an int before the arrays
    (``x[0, :, [2, 0]]`` puts the array's axis last, where NumPy's rule for separated
    advanced indices puts it first). ``Backend.getitem`` serves these with NumPy's meaning.

    Example:
        >>> torch_differs((slice(None, None, -1),)), torch_differs((0, slice(None)))
        (True, False)
        >>> torch_differs((0, slice(None), np.array([2, 0])))
        True
    """
    items = index if isinstance(index, tuple) else (index,)
    ints = any(isinstance(i, (int, np.integer)) for i in items)
    arrays = any(
        not isinstance(i, (int, np.integer, slice, type(None), type(Ellipsis))) for i in items
    )
    return any(_reverses(i) for i in items) or (arrays and ints)


def flip_steps(index: Any, shape: tuple[int, ...]) -> tuple[Any, tuple[int, ...], Any] | None:
    """A basic ``x[index]`` (ints, slices, None, ...) as ``flip(x[narrowing], axes)[rest]``
    with every step positive, or None when no slice has a negative step (``shape`` is x's).

    PyTorch has no negative slice steps (``torch_differs``). A slice ``start:stop:-k`` over
    an axis of length n picks ``range(*slice.indices(n))``: the elements of the positive
    slice ``last:first+1:k``, in reverse. ``narrowing`` takes that slice on each such input
    axis (the others whole), ``axes`` are those input axes, flipped, and ``rest`` is
    ``index`` with each of those slices made ``:``. Flipping input axes, before ``rest``,
    leaves the ints and None (which move the output's axes) where ``index`` has them.

    Example:
        >>> x = np.arange(12).reshape(2, 6)
        >>> narrowing, axes, rest = flip_steps((Ellipsis, slice(5, 1, -2)), x.shape)
        >>> narrowing, axes, rest
        ((slice(None, None, None), slice(3, 6, 2)), (1,), (Ellipsis, slice(None, None, None)))
        >>> bool((np.flip(x[narrowing], axes)[rest] == x[..., 5:1:-2]).all())
        True
    """
    items = index if isinstance(index, tuple) else (index,)
    if not any(_reverses(item) for item in items):
        return None
    # an Ellipsis stands for the axes that the ints and slices do not take
    spread = len(shape) - sum(isinstance(item, (int, slice)) for item in items)
    narrowing: list[Any] = [slice(None)] * len(shape)
    flipped: list[int] = []
    rest: list[Any] = []
    axis = 0
    for item in items:
        if _reverses(item):
            picked = range(*item.indices(shape[axis]))
            if picked:  # the same elements, first to last, with a positive step
                narrowing[axis] = slice(picked[-1], picked[0] + 1, -picked.step)
            else:
                narrowing[axis] = slice(0, 0)
            flipped.append(axis)
            item = slice(None)
        rest.append(item)
        axis += spread if item is Ellipsis else isinstance(item, (int, slice))
    return tuple(narrowing), tuple(flipped), tuple(rest)


def flat_positions(index: Any, shape: tuple[int, ...]) -> np.ndarray:
    """For any NumPy index, the flat (C-order) position in an array of ``shape`` of each
    element ``x[index]`` picks: Σ coordinate · stride over the axes, each axis's coordinate
    a broadcast view indexed as x is (nothing of x's size is made).

    Example:
        >>> flat_positions((0, slice(None), np.array([2, 0])), (2, 3, 4)).tolist()
        [[2, 6, 10], [0, 4, 8]]
    """
    total = np.broadcast_to(np.int64(0), shape)[index]
    for axis, length in enumerate(shape):
        along = np.arange(length, dtype=np.int64).reshape((length, *[1] * (len(shape) - 1 - axis)))
        total = total + np.broadcast_to(along, shape)[index] * math.prod(shape[axis + 1 :])
    return np.asarray(total, dtype=np.int64)


def _reverses(item: Any) -> bool:
    return type(item) is slice and item.step is not None and item.step < 0


def numpy_dtype(value: Any) -> np.dtype[Any]:
    """The NumPy dtype of the same name as an array's dtype (torch.float32 -> float32)."""
    return np.dtype(str(value.dtype).rpartition(".")[2])


def _is_float(xp: Any, value: Any) -> bool:
    return hasattr(value, "dtype") and xp.isdtype(value.dtype, "real floating")


def _basic_scatter(backend: Backend, v: Any, index: Any, shape: tuple[int, ...]) -> Any:
    """Zeros with ``v`` at a basic index (ints, slices, None, ...), which names each element
    once: a pad where the library writes in place (JAX: ``.at[index].set``), else one-hot."""
    xp = backend.xp
    if backend.library == "jax":
        return xp.zeros(shape, dtype=v.dtype, device=backend.device).at[index].set(v)
    plan = flip_steps(index, shape) if backend.library == "torch" else None
    if plan is not None:
        # x[index] is flip(x[narrowing])[rest]: v goes in at rest, flipped back, at narrowing
        narrowing, axes, rest = plan
        inner = _basic_scatter(backend, v, rest, np.broadcast_to(0, shape)[narrowing].shape)
        total = xp.zeros(shape, dtype=v.dtype, device=backend.device)
        total[narrowing] = xp.flip(inner, axis=axes)
        return total
    if backend.library in ("torch", "cupy", "numpy"):
        total = xp.zeros(shape, dtype=v.dtype, device=backend.device)
        total[index] = v
        return total
    return _one_hot_scatter(backend, v, index, shape)


def _one_hot_scatter(backend: Backend, v: Any, index: Any, shape: tuple[int, ...]) -> Any:
    """Σ over the picked positions as a one-hot matrix product, in standard functions only.

    Every position of the zeros is numbered (a NumPy range of ``shape`` indexed like the
    forward: host data, known at tracing), so ``index`` becomes one flat position per
    element of ``v``; the total is ``onehotᵀ @ v``, which adds repeats. It costs one
    (elements of v) × (elements of shape) matrix: fine for the tables an index's gradient
    fills, and it is lazy on Dask.
    """
    xp = backend.xp
    picked = np.arange(math.prod(shape)).reshape(shape)[index]
    positions = picked.reshape(-1)
    size = math.prod(shape)
    # v broadcasts to what the index picks, as np.add.at broadcasts it
    flat_v = xp.reshape(xp.broadcast_to(v, picked.shape), (positions.size, 1))
    targets = backend.asarray(positions[:, None] == np.arange(size)[None, :])
    one_hot = xp.astype(targets, v.dtype)
    total = xp.matrix_transpose(one_hot) @ flat_v
    return xp.reshape(total, shape)


# -- portable forwards: the ops whose NumPy forward is more than one standard call ---------------


def _zero(xp: Any, x: Any) -> Any:
    return xp.zeros((), dtype=x.dtype, device=_device(x))


def _device(x: Any) -> Any:
    import array_api_compat

    return array_api_compat.device(x)


def _sigmoid(backend: Backend, x: Any) -> Any:
    # e^-x = inf for very negative x gives 1 / inf = 0, the exact limit, and σ(-40) keeps
    # its relative accuracy (unlike 0.5 + 0.5 tanh). GPUs raise no flag for the overflow;
    # Dask's chunks are NumPy arrays, which warn from Dask's threads, out of reach of the
    # caller's errstate: there each chunk is computed with the overflow silenced, as eager.
    if backend.lazy:
        return x.map_blocks(_quiet_sigmoid, dtype=x.dtype)
    return 1 / (1 + backend.xp.exp(-x))


def _quiet_sigmoid(block: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        result: np.ndarray = 1 / (1 + np.exp(-block))
        return result


def _logsumexp(xp: Any, x: Any, axis: Any) -> Any:
    shift = xp.max(x, axis=axis, keepdims=True)
    shift = xp.where(xp.isfinite(shift), shift, _zero(xp, x))  # all -inf: nothing to shift
    return xp.log(xp.sum(xp.exp(x - shift), axis=axis, keepdims=True)) + shift


def _reduced_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    if axis is None:
        return ()
    axes = {a % len(shape) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _log_softmax(xp: Any, x: Any, axis: int = -1) -> Any:
    return x - _logsumexp(xp, x, axis)


def _softmax(xp: Any, x: Any, axis: int = -1) -> Any:
    e = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return e / xp.sum(e, axis=axis, keepdims=True)


def _sigmoid_cross_entropy(xp: Any, z: Any, y: Any) -> Any:
    zero = _zero(xp, z)
    linear = xp.maximum(z, zero) * (1 - y) - xp.minimum(z, zero) * y
    return linear + xp.log1p(xp.exp(-xp.abs(z)))


def _masked(backend: Backend, x: Any, where: Any, fill: float) -> Any:
    """x where the mask ``where`` (NumPy's reductions' keyword) holds, else ``fill``."""
    if where is None:
        return x
    if not is_foreign_array(where):  # a constant already brought here is used as it is
        where = backend.asarray(np.asarray(where))
    mask = backend.xp.broadcast_to(where, tuple(x.shape))
    return backend.xp.where(mask, x, fill)


def _mean(backend: Backend, x: Any, axis: Any, keepdims: bool, where: Any) -> Any:
    xp = backend.xp
    if where is not None:  # Σ over the mask / how many it holds
        counted = xp.astype(_masked(backend, xp.ones_like(x), where, 0.0), x.dtype)
        total = xp.sum(_masked(backend, x, where, 0.0), axis=axis, keepdims=keepdims)
        return total / xp.sum(counted, axis=axis, keepdims=keepdims)
    total = xp.sum(x, axis=axis, keepdims=keepdims)
    return total / (math.prod(x.shape) // max(math.prod(total.shape), 1))


def _extreme(
    backend: Backend, reduce: Any, pair: Any, x: Any, axis: Any, keepdims: bool, initial: Any
) -> Any:
    """max/min over ``axis``, with NumPy's ``initial`` taking part when given."""
    if initial is None:
        return reduce(x, axis=axis, keepdims=keepdims)
    if math.prod(x.shape) == 0:  # only the initial value: the reduced shape, filled with it
        shape = tuple(np.sum(np.empty(tuple(x.shape)), axis=axis, keepdims=keepdims).shape)
        return backend.xp.full(shape, initial, dtype=x.dtype, device=backend.device)
    return pair(reduce(x, axis=axis, keepdims=keepdims), initial)


def _permute(xp: Any, x: Any, axes: Any = None) -> Any:
    # JAX takes no axis counted from the end (-1): each is made non-negative
    if axes is None:
        return xp.permute_dims(x, tuple(range(x.ndim))[::-1])
    return xp.permute_dims(x, tuple(a % x.ndim for a in axes))


def _clip(xp: Any, x: Any, low: Any, high: Any) -> Any:
    return xp.clip(x, low, high)


def _where(xp: Any, x: Any, y: Any, condition: Any) -> Any:
    return xp.where(condition, x, y)


#: One portable forward per built-in op, ``forward(backend, *inputs, **attrs)``, written in
#: the Array API standard's functions (plus the backend's scatter-add).
PORTABLE: dict[str, Callable[..., Any]] = {
    "add": lambda b, x, y: x + y,
    "sub": lambda b, x, y: x - y,
    "neg": lambda b, x: -x,
    "positive": lambda b, x: x,
    "mul": lambda b, x, y: x * y,
    "div": lambda b, x, y: x / y,
    "pow": lambda b, x, y: x**y,
    "exp": lambda b, x: b.xp.exp(x),
    "log": lambda b, x: b.xp.log(x),
    "sqrt": lambda b, x: b.xp.sqrt(x),
    "abs": lambda b, x: b.xp.abs(x),
    "maximum": lambda b, x, y: b.xp.maximum(x, y),
    "minimum": lambda b, x, y: b.xp.minimum(x, y),
    "where": lambda b, x, y, condition: _where(b.xp, x, y, condition),
    "clip": lambda b, x, low, high: _clip(b.xp, x, low, high),
    "sigmoid": _sigmoid,
    "tanh": lambda b, x: b.xp.tanh(x),
    "relu": lambda b, x: b.xp.maximum(x, _zero(b.xp, x)),
    "leaky_relu": lambda b, x, slope=0.01: b.xp.where(x > 0, x, slope * x),
    "sigmoid_cross_entropy": lambda b, z, y: _sigmoid_cross_entropy(b.xp, z, y),
    "logsumexp": lambda b, x, axis=None, keepdims=False: (
        _logsumexp(b.xp, x, axis)
        if keepdims
        else b.xp.reshape(_logsumexp(b.xp, x, axis), _reduced_shape(tuple(x.shape), axis))
    ),
    "softmax": lambda b, x, axis=-1: _softmax(b.xp, x, axis),
    "log_softmax": lambda b, x, axis=-1: _log_softmax(b.xp, x, axis),
    "softmax_cross_entropy": lambda b, z, y, axis=0: (
        0.0 - b.xp.sum(y * _log_softmax(b.xp, z, axis), axis=axis)
    ),
    "matmul": lambda b, x, y: x @ y,
    "sum": lambda b, x, axis=None, keepdims=False, where=None: b.xp.sum(
        _masked(b, x, where, 0.0), axis=axis, keepdims=keepdims
    ),
    "mean": lambda b, x, axis=None, keepdims=False, where=None: _mean(b, x, axis, keepdims, where),
    "max": lambda b, x, axis=None, keepdims=False, initial=None: _extreme(
        b, b.xp.max, b.xp.maximum, x, axis, keepdims, initial
    ),
    "min": lambda b, x, axis=None, keepdims=False, initial=None: _extreme(
        b, b.xp.min, b.xp.minimum, x, axis, keepdims, initial
    ),
    "transpose": lambda b, x, axes=None: _permute(b.xp, x, axes),
    "reshape": lambda b, x, shape: b.xp.reshape(x, tuple(shape)),
    "broadcast_to": lambda b, x, shape: b.xp.broadcast_to(x, tuple(shape)),
    # the dtype attr is NumPy's, or the library's own where compiled code wrote xp.float32
    "astype": lambda b, x, dtype: b.xp.astype(x, getattr(b.xp, str(dtype).rpartition(".")[2])),
    "concatenate": lambda b, *xs, axis=0: b.xp.concat(xs, axis=axis),
    "stack": lambda b, *xs, axis=0: b.xp.stack(xs, axis=axis),
    "getitem": lambda b, x, index: b.getitem(x, index),
    "index_add": lambda b, v, index, shape: b.scatter_add(v, index, tuple(shape)),
    "sin": lambda b, x: b.xp.sin(x),
    "cos": lambda b, x: b.xp.cos(x),
    "expm1": lambda b, x: b.xp.expm1(x),
    "log1p": lambda b, x: b.xp.log1p(x),
    "cumsum": lambda b, x, axis=None: (
        b.xp.cumulative_sum(b.xp.reshape(x, (-1,)), axis=0)
        if axis is None
        else b.xp.cumulative_sum(x, axis=axis)
    ),
    "prod": lambda b, x, axis=None, keepdims=False: b.xp.prod(x, axis=axis, keepdims=keepdims),
    "norm": lambda b, x, axis=None, keepdims=False: b.xp.sqrt(
        b.xp.sum(x * x, axis=axis, keepdims=keepdims)
    ),
    "var": lambda b, x, axis=None, keepdims=False, ddof=0: b.xp.var(
        x, axis=axis, keepdims=keepdims, correction=ddof
    ),
    "std": lambda b, x, axis=None, keepdims=False, ddof=0: b.xp.std(
        x, axis=axis, keepdims=keepdims, correction=ddof
    ),
    "einsum": lambda b, *xs, subscripts, optimize=False: _einsum(b, xs, subscripts),
}


def _einsum(backend: Backend, xs: tuple[Any, ...], subscripts: str) -> Any:
    """einsum is not in the standard: the library's own (PyTorch, JAX, CuPy, Dask have one)."""
    einsum = getattr(backend.xp, "einsum", None)
    if einsum is None:
        raise TraceError(
            f"einsum is not in the Array API standard and {backend.library} has none: "
            "write it with matmul, sum and permute_dims, or call with NumPy arrays"
        )
    return einsum(subscripts, *xs)


def value_test(backend: Backend, *xs: Any, function: Any) -> Any:
    """cg.compile's recorded test (``np.greater(x, 0)``, ...) on ``backend``: the standard
    names its functions as NumPy does; 0/1 floats in the inputs' float dtype."""
    xp = backend.xp
    floats = [x.dtype for x in xs if hasattr(x, "dtype") and xp.isdtype(x.dtype, "real floating")]
    name = function.__name__
    if name.startswith("logical_"):  # the standard's logical functions take booleans only
        xs = tuple(xp.astype(x, xp.bool) for x in xs)
    result = getattr(xp, name)(*xs)
    return xp.astype(result, xp.result_type(*floats) if floats else xp.float64)


def select(backend: Backend, x: Any, y: Any, condition: Any) -> Any:
    """cg.compile's ``cg.where`` on a recorded test (0/1 floats) on ``backend``."""
    xp = backend.xp
    return xp.where(xp.astype(condition, xp.bool), x, y)


class _PortableOp:
    """Stands in for an op class in compiled code on another library: ``.forward`` is the
    op's portable forward on the call's backend."""

    def __init__(self, op: type[ops.Op], backend: Backend) -> None:
        # the package's own ops only: a user's op of the same name is not ours to stand in for
        forward = PORTABLE.get(op.name) if op.__module__.startswith("compgraph.") else None
        if forward is None:
            raise TraceError(
                f"op {op.name!r} ({op.__name__}) has a NumPy forward only: compiled code on "
                f"{backend.library} cannot run it. Write its forward with the array namespace "
                "of its inputs, or call the compiled function with NumPy arrays"
            )
        self.name = op.name
        self._forward = forward
        self._backend = backend

    def forward(self, *inputs: Any, **attrs: Any) -> Any:
        return self._forward(self._backend, *inputs, **attrs)


class _Namespace:
    """The ``xp`` compiled code sees: the library's namespace, with ``permute_dims`` taking
    None (``.T``: every axis reversed), as NumPy's transpose does, and ``getitem`` (not the
    standard's), which ``code_for`` writes where PyTorch needs it."""

    def __init__(self, backend: Backend) -> None:
        self._xp = backend.xp
        self.getitem = backend.getitem

    def __getattr__(self, name: str) -> Any:
        return getattr(self._xp, name)

    def permute_dims(self, x: Any, axes: Any = None) -> Any:
        return _permute(self._xp, x, axes)


def code_for(function: Any, source: str, backend: Backend) -> types.CodeType:
    """The code of compiled ``function`` (written from ``source``) to run on ``backend``.

    The same code everywhere, except on PyTorch where it would read an index otherwise
    than NumPy (``torch_differs``: ``x[::-1]`` written in the brackets, or an index constant
    with a negative step or ints with arrays): there each such ``x[index]`` becomes
    ``xp.getitem(x, index)`` (``Backend.getitem``). The lines keep their numbers, so a
    traceback points at ``.source``.
    """
    code: types.CodeType = function.__code__
    if backend.library != "torch":
        return code
    tree = ast.parse(source)
    rewriter = _TorchIndices(function.__globals__)
    tree = ast.fix_missing_locations(rewriter.visit(tree))
    if not rewriter.changed:
        return code
    module = builtins.compile(tree, code.co_filename, "exec")
    return next(
        c for c in module.co_consts if isinstance(c, types.CodeType) and c.co_name == code.co_name
    )


class _TorchIndices(ast.NodeTransformer):
    """``x[... ::-k ...]`` written as ``xp.getitem(x, (..., slice(None, None, -k), ...))``,
    and ``x[index]`` as ``xp.getitem(x, index)`` where the constant ``index`` needs it."""

    def __init__(self, constants: dict[str, Any]) -> None:
        self.constants = constants
        self.changed = False

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        index = node.slice
        if isinstance(index, ast.Name):
            if not torch_differs(self.constants.get(index.id)):
                return node
        else:
            parts = index.elts if isinstance(index, ast.Tuple) else [index]
            if not any(_reverses_literally(part) for part in parts):
                return node
            index = ast.Tuple([_as_call(part) for part in parts], ast.Load())
        self.changed = True
        getitem = ast.Attribute(ast.Name("xp", ast.Load()), "getitem", ast.Load())
        return ast.copy_location(ast.Call(getitem, [node.value, index], []), node)


def _reverses_literally(part: ast.expr) -> bool:
    if not isinstance(part, ast.Slice) or part.step is None:
        return False
    try:
        step = ast.literal_eval(part.step)
    except ValueError:
        return False
    return type(step) is int and step < 0


def _as_call(part: ast.expr) -> ast.expr:
    """A slice written ``a:b:c`` as the call ``slice(a, b, c)`` (outside brackets)."""
    if not isinstance(part, ast.Slice):
        return part
    bounds = [ast.Constant(None) if p is None else p for p in (part.lower, part.upper, part.step)]
    return ast.Call(ast.Name("slice", ast.Load()), bounds, [])


def namespace_for(globals_: dict[str, Any], backend: Backend) -> dict[str, Any]:
    """Compiled code's globals (its NumPy ones) remade for ``backend``: ``xp`` its namespace,
    constants copied to its device, op classes their portable forwards."""
    remade: dict[str, Any] = {}
    for name, value in globals_.items():
        if name == "__builtins__":
            remade[name] = value
        elif name == "xp":
            remade[name] = _Namespace(backend)
        elif name == "asarray":
            remade[name] = backend.asarray
        elif name == "copy":
            remade[name] = functools.partial(backend.xp.asarray, copy=True)
        elif isinstance(value, type) and issubclass(value, ops.Op):
            remade[name] = _PortableOp(value, backend)
        else:
            remade[name] = _on_backend(value, backend)
    return remade


def _on_backend(value: Any, backend: Backend) -> Any:
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        try:
            return backend.asarray(value)
        except (ValueError, TypeError):
            # A device without float64 (many GPUs): the trace's float64 constants (masks,
            # literals of a float32 graph) are made float32, the only float it has; float64
            # arguments are refused by name instead (Compiled's call).
            return backend.asarray(value.astype(np.float32))
    if isinstance(value, np.ndarray) and value.dtype.kind in "bc":
        return backend.asarray(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu":
        # index arrays, as the library indexes with (int64 on its device)
        return backend.asarray(value.astype(np.int64))
    if isinstance(value, np.generic) and value.dtype.kind == "f":
        try:
            return backend.asarray(value)
        except (ValueError, TypeError):
            # a device without float64: a number stays a Python float, which the standard
            # promotes weakly (float32 here); the results are cast to the traced dtypes
            return float(value)
    if type(value) is tuple:
        return tuple(_on_backend(item, backend) for item in value)
    return value


_NAMESPACES: dict[type, tuple[Any, str]] = {}


def resolve(leaves: Sequence[Any], names: Sequence[str]) -> Backend | None:
    """The one backend of a call's traced arguments, or None when they are all NumPy.

    Numbers (Python floats, NumPy scalars and 0-d arrays) join any library; NumPy arrays
    may join Dask arrays (Dask's chunks are NumPy arrays:
    parameters computed by the previous step come back as NumPy); any other mix of
    libraries or devices is refused, naming the arguments.

    Raises:
        TypeError: the arguments come from several libraries or devices.
        ImportError: array-api-compat is not installed.
    """
    found: dict[tuple[str, str], list[str]] = {}
    chosen: dict[tuple[str, str], Backend] = {}
    for value, name in zip(leaves, names, strict=True):
        if type(value) in (np.float64, np.float32):
            continue  # a number (a Python float, a 0-d array): made on the device by asarray
        if not is_foreign_array(value):
            found.setdefault(("numpy", "cpu"), []).append(name)
            continue
        kind = type(value)
        if kind not in _NAMESPACES:
            try:
                import array_api_compat
            except ImportError as error:
                raise ImportError(_INSTALL) from error
            _NAMESPACES[kind] = (array_api_compat.array_namespace(value), _library(value))
        xp, library = _NAMESPACES[kind]
        import array_api_compat

        device = array_api_compat.device(value)
        key = (library, str(device))
        found.setdefault(key, []).append(name)
        chosen.setdefault(key, Backend(xp, device, library))
    others = [key for key in found if key[0] != "numpy"]
    if not others:
        return None
    mixed = len(others) > 1 or (("numpy", "cpu") in found and others[0][0] != "dask")
    if mixed:
        groups = "; ".join(
            f"{library} on {device}: {', '.join(found[(library, device)])}"
            for library, device in found
        )
        raise TypeError(
            "a compiled function's array arguments must come from one library on one device "
            f"(NumPy values may join Dask arrays only); got {groups}. Move them together "
            "first (e.g. torch.as_tensor(x, device=...), xp.asarray(x, device=...))"
        )
    return chosen[others[0]]
