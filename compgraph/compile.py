"""Record once, replay fast: ``compile(fn)`` turns a function of compgraph ops into Python.

The first call for a signature (the shapes and dtypes of the float arrays among the
arguments, the values of the others) **traces** ``fn``: it calls ``fn`` on fresh leaf Nodes,
so the whole computation, forward and backward (the transforms record their backward passes
when their arguments are Nodes), lands in one graph. That graph is written out as one line
of Python per op, in creation order, calling the very NumPy functions eager compgraph calls,
with the same argument types; each line is checked against the traced value, bit for bit,
before the code is kept. Later calls with that signature run the code: no Node, no graph
walk, no per-op check, and NumPy's floating-point flags are read once per call instead.

Exactness before speed: a replay that raises, that signals a floating-point exception, or
whose arguments are not finite runs that call eagerly instead, so errors and non-finite
reports are eager's own. A Python decision on a traced value (``if loss.value < 0.1``,
``float(node)``) is refused while tracing (``TraceError``), never frozen.
"""

from __future__ import annotations

import ast
import builtins
import functools
import inspect
import keyword
import linecache
import math
import string
import textwrap
import threading
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from compgraph import backends, numerics
from compgraph.errors import TraceError, TraceWarning
from compgraph.node import Node, broadcast_leaf, recording_tests
from compgraph.ops import Op
from compgraph.values import refuse_conversions

__all__ = ["Compiled", "compile"]

#: Arguments up to this many elements are checked for inf/NaN on every call (see write).
SMALL_ARGUMENT = 4096
#: Traces after which ``Compiled`` warns (once) that its arguments keep changing signature.
RETRACE_WARNING_AFTER = 8
#: NumPy replays write elementwise results of at least this many bytes into a dead
#: temporary's array (``out=``). Measured on a chain of seven ops: no gain up to 48 KiB
#: (1.04-0.98x), 0.93x at 96 KiB, 0.1-0.3x from 128 KiB, where each fresh array is mapped
#: and faulted in page by page; below, ``out=``'s keyword costs more than it saves.
REUSED_BUFFER_BYTES = 64 * 1024


def compile(fn: Callable[..., Any]) -> Compiled:  # noqa: A001 - the name users know from JAX/torch
    """Compile ``fn``, a function of arrays built from compgraph ops and transforms.

    Args:
        fn: a function whose float arguments (NumPy float arrays, Python floats, and such
            values inside tuples, lists and dicts) are traced; every other argument (ints,
            bools, strings, integer arrays, None) is static: a new value traces again.

    Returns:
        A ``Compiled`` function with ``fn``'s arguments that returns what ``fn`` returns,
        with arrays where ``fn`` returns Nodes. ``.source`` is the code of its latest trace,
        ``.traces`` how many signatures it has traced.

    Raises:
        TraceError: (when called) ``fn`` makes a Python decision on a traced value, or makes
            a Node from another's value; the message names the value.

    Example:
        >>> import numpy as np, compgraph as cg
        >>> def loss(w, x):
        ...     return cg.sum(cg.tanh(w * x))
        >>> step = cg.compile(cg.value_and_grad(loss))
        >>> value, dw = step(np.array([0.5, -1.0]), np.array([2.0, 3.0]))
        >>> round(float(value), 4), dw.round(4).tolist()
        (-0.2335, [0.8399, 0.0296])
        >>> step.traces
        1
    """
    if not callable(fn):
        raise TypeError(f"compile takes a function, got {type(fn).__name__} {fn!r:.40}")
    return Compiled(fn)


class _NodeArgumentError(Exception):
    """An argument is a Node: the call runs eagerly (inside another trace or derivative)."""


class _ReplayFailedError(Exception):
    """A compiled line made a value eager would report (a user op's non-finite output)."""


def _note_flags(events: Callable[[str, int], None]) -> Any:
    """Enter the state in which a replay on NumPy meets floating-point exceptions: each one
    noted by ``events``, none warned (underflow ignored); ``numerics.leave_errstate``
    leaves it."""
    return numerics.enter_errstate(
        over="call", divide="call", invalid="call", under="ignore", call=events
    )


def _check_finite(*values: Any) -> None:
    """Compiled code's check of the values no floating-point flag covers: a user op's
    output, the small arguments and the results (an inf or NaN that came in).

    One test over all the small float arrays together (their elements copied into one): at
    the lessons' sizes each NumPy call costs far more than its elements do, so one isfinite
    over 800 elements costs less than a test of each of ten arrays.
    """
    small = []
    for value in values:
        kind = type(value)
        if kind is np.ndarray and value.size <= _CHECKED_TOGETHER:
            small.append(value.ravel())  # any dtype: the copy is float (or complex) if any is
        elif kind is np.float64 or kind is np.float32:
            if not math.isfinite(value):
                raise _ReplayFailedError
        elif not numerics.all_finite(value):
            raise _ReplayFailedError
    if small:
        flat = small[0] if len(small) == 1 else np.concatenate(small)
        if _count_nonzero(_isfinite(flat)) != flat.size:
            raise _ReplayFailedError


#: Float arrays up to this size are copied into the one test; a larger one is tested alone
#: (numerics.all_finite's one BLAS pass), rather than copied.
_CHECKED_TOGETHER = 2048
_isfinite = np.isfinite
_count_nonzero = np.count_nonzero


class ValueTest(Op):
    """f(x, ...) for a piecewise-constant NumPy ``function`` (comparison, sign, logical), as
    0/1 floats ; vjp: 0

    Recorded only while tracing: eagerly ``np.greater(x, 0)`` on a Node is data read from
    its value (a vjp's mask), which compiled code must compute from each call's values.
    """

    @staticmethod
    def forward(*xs: Any, function: Any) -> Any:
        floats = [np.asarray(x).dtype for x in xs if np.asarray(x).dtype.kind == "f"]
        return np.asarray(function(*xs), dtype=np.result_type(*floats))

    @staticmethod
    def vjp(g: Any, out: Any, *xs: Any, function: Any) -> tuple[Any, ...]:
        return tuple(np.zeros(x.shape) for x in xs)  # piecewise constant


class Select(Op):
    """x where ``condition`` (a recorded ``ValueTest``) holds, else y ; vjp: (g where it holds,
    g elsewhere, 0): ``cg.where`` on a traced test, replayed per call."""

    @staticmethod
    def forward(x: Any, y: Any, condition: Any) -> Any:
        return np.where(condition, x, y)

    @staticmethod
    def vjp(g: Any, out: Any, x: Any, y: Any, condition: Any) -> tuple[Any, ...]:
        return (
            np.where(condition, g, 0.0),
            np.where(condition, 0.0, g),
            np.zeros(condition.shape),
        )


# Their forwards on other Array API libraries (compiled code replayed there, issue 21).
backends.PORTABLE[ValueTest.name] = backends.value_test
backends.PORTABLE[Select.name] = backends.select

_FLOAT_KINDS = "fd"  # float32, float64: the dtypes a traced argument keeps


def _split(value: Any, leaves: list[Any]) -> Any:
    """The hashable signature of one argument; its traced values are appended to ``leaves``.

    0-d values become NumPy scalars, as eager hands them to the ops (``Op.scalar_inputs``).
    """
    kind = type(value)
    if kind is np.ndarray:
        if value.dtype.char in _FLOAT_KINDS:
            leaves.append(value[()] if value.ndim == 0 else value)
            return (value.shape, value.dtype.char)
        return ("static array", value.dtype.str, value.shape, value.tobytes())
    if kind is float:
        leaves.append(np.float64(value))
        return ((), "d")
    if kind is np.float64 or kind is np.float32:
        leaves.append(value)
        return ((), value.dtype.char)
    if kind is tuple or kind is list:
        return (kind, tuple([_split(item, leaves) for item in value]))
    if kind is dict:
        return (dict, tuple([(k, _split(item, leaves)) for k, item in value.items()]))
    if isinstance(value, Node):
        raise _NodeArgumentError
    if backends.is_foreign_array(value):  # another Array API library's (see backends)
        dtype = backends.numpy_dtype(value)
        if dtype.char in _FLOAT_KINDS:
            leaves.append(value)
            return (tuple(value.shape), dtype.char)
        library = type(value).__module__.partition(".")[0]
        if dtype.kind == "f":  # float16, or another float NumPy's trace cannot stand for
            raise TypeError(
                f"a compiled function traces float32 and float64 arrays; got a {library} "
                f"{type(value).__name__} of {dtype}: convert it (astype float32) first"
            )
        raise TypeError(
            f"a compiled function's integer and boolean arrays are static (their values pick "
            f"the code), so they are NumPy arrays; got a {library} {type(value).__name__} of "
            f"{dtype}: pass it as a NumPy array"
        )
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"a compiled function's arguments are float arrays, numbers, and tuples, lists or "
            f"dicts of them, or hashable static values; got {kind.__name__} {value!r:.40}"
        ) from None
    return (kind, value)


def _describe_signature(value: Any) -> str:
    """How a retrace warning names one argument's signature."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    if isinstance(value, (tuple, list, dict)):
        return f"{type(value).__name__} of {len(value)}"
    return repr(value)[:40]


class Compiled:
    """A function compiled by ``cg.compile``: call it as ``fn``.

    Attributes:
        fn: the function traced.
        traces: how many signatures have been traced so far.
        source: the Python code of the latest trace (one line per op, in ``fn``'s names;
            backward lines say which op's vjp made them; constants named with their shape),
            as NumPy runs it: lines making large arrays may write into a dead temporary's
            (``out=``), which other libraries' replays leave out.
        sources: the code of every trace, in the order they were made.
    """

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn)
        self.traces = 0
        self.sources: list[str] = []
        self._cache: dict[Any, _Trace] = {}
        self._signatures: list[list[tuple[str, str]]] = []
        self._warned = False
        self._lock = threading.Lock()

    @property
    def source(self) -> str:
        """The code of the latest trace (call the function once first)."""
        if not self.sources:
            raise ValueError(
                f"{_function_name(self.fn)} has not been traced yet: call it once, and its "
                "source is the code that call recorded"
            )
        return self.sources[-1]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves: list[Any] = []
        parts: list[Any] = []
        split_others = False
        try:
            for a in args:
                if type(a) is np.ndarray and a.ndim and a.dtype.char in _FLOAT_KINDS:
                    # _split's first case, inline: the common argument costs no call
                    leaves.append(a)
                    parts.append((a.shape, a.dtype.char))
                else:
                    parts.append(_split(a, leaves))
                    split_others = True
            key = tuple(parts)
            if kwargs:
                key += (tuple([(k, _split(v, leaves)) for k, v in kwargs.items()]),)
                split_others = True
        except _NodeArgumentError:
            return self.fn(*args, **kwargs)  # inside another trace: record as eager does
        if split_others:
            for leaf in leaves:
                if type(leaf) not in _NUMPY_LEAVES:  # another library's array: its own path
                    return self._call_on_backend(key, leaves, args, kwargs)
        trace = self._cache.get(key)
        if trace is None:
            with self._lock:
                trace = self._cache.get(key)
                if trace is None:
                    trace = self._cache[key] = self._trace(args, kwargs)
        events = numerics.FloatingPointEvents()
        state = _note_flags(events)
        try:
            try:
                result = trace.numpy_function(*leaves)
            finally:  # whatever is raised (KeyboardInterrupt too), the caller's state is back
                numerics.leave_errstate(state)
        except Exception:  # eager raises its own error (or reports) instead
            return self.fn(*args, **kwargs)
        if events.signalled:
            return self.fn(*args, **kwargs)  # eager's values with eager's reports
        return result

    def _call_on_backend(
        self, key: Any, leaves: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Replay the trace on the arguments' own library (resolved once, here): traced on
        NumPy stand-ins of the same shapes and dtypes, results in the caller's library, on
        its device, in the traced dtypes."""
        names: list[str] = []
        for a, name in zip(args, _parameter_names(self.fn, len(args), kwargs), strict=False):
            _leaf_names(a, name, names)
        for k, v in kwargs.items():
            _leaf_names(v, k, names)
        backend = backends.resolve(leaves, names)
        assert backend is not None
        trace = self._cache.get(key)
        if trace is None:
            with self._lock:
                trace = self._cache.get(key)
                if trace is None:
                    made: list[Any] = []
                    stand_in = functools.partial(_stand_in, backend, made)
                    trace = self._cache[key] = self._trace(
                        _map_leaves(args, stand_in),
                        {k: _map_leaves(v, stand_in) for k, v in kwargs.items()},
                        frozenset(id(v) for v in made if not v.flags.writeable),
                        on_numpy=False,
                    )
        values = list(leaves)
        for i, value in enumerate(leaves):
            if not backends.is_foreign_array(value):
                try:
                    values[i] = backend.asarray(value)
                except Exception as error:
                    raise TraceError(
                        f"compiled {_function_name(self.fn)}: argument {names[i]} "
                        f"({_describe_signature(np.asarray(value))}) cannot be made on "
                        f"{backend.library} ({backend.device}): {error}. Pass it as an array "
                        "of that library, in a dtype the device has"
                    ) from error
        try:
            function = trace.on(backend)
        except Exception as error:
            raise TraceError(
                f"compiled {_function_name(self.fn)}: its constants cannot be made on "
                f"{backend.library} ({backend.device}): {error}"
            ) from error
        try:
            # NumPy-backed libraries (array-api-strict) warn as NumPy does: the check of the
            # results is what reports, through eager
            with np.errstate(all="ignore"):
                result = function(*values)
        except _ReplayFailedError:
            # an inf or NaN: eager on NumPy copies reports it as eager does, and its values
            # come back in the caller's library
            to_numpy = functools.partial(_to_numpy, backend)
            eager = self.fn(
                *_map_leaves(args, to_numpy),
                **{k: _map_leaves(v, to_numpy) for k, v in kwargs.items()},
            )
            return _map_outputs(eager, lambda value, i: backend.asarray(np.asarray(value)))
        except Exception as error:
            raise TraceError(
                f"compiled {_function_name(self.fn)} could not run on {backend.library} "
                f"({backend.device}): {type(error).__name__}: {error}. The code it ran is "
                "its .source; docs/how-to/backends.md lists what each library supports"
            ) from error
        dtypes = _flat_dtypes(trace.dtypes)

        def finish(value: Any, i: int) -> Any:
            if backends.numpy_dtype(value) != dtypes[i]:  # another library's promotion
                value = backend.xp.astype(value, getattr(backend.xp, dtypes[i].name))
            if backend.lazy:
                value = backend.checked_lazily(value, f"output {i} of {trace.name}")
            return value

        return _map_outputs(result, finish)

    def __repr__(self) -> str:
        return f"<compiled {_function_name(self.fn)}: {self.traces} trace(s)>"

    # -- tracing ----------------------------------------------------------------------------

    def _trace(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        stand_ins: frozenset[int] = frozenset(),
        on_numpy: bool = True,
    ) -> _Trace:
        names = _parameter_names(self.fn, len(args), kwargs)
        made: list[tuple[Node, str, Any]] = []  # traced leaf, its name, the call's value

        def leaf(value: Any, name: str) -> Node:
            if id(value) in stand_ins:  # data held elsewhere: a broadcast 1, never copied
                node = broadcast_leaf(value, name)
            else:
                node = Node(np.asarray(value), name=name)  # a Python float becomes float64
            held: list[Any] = []
            _split(value, held)  # what the compiled code will be handed for it
            made.append((node, name, held[0]))
            return node

        start = Node(0.0, requires_grad=False).id
        traced_args = [_with_leaves(a, name, leaf) for a, name in zip(args, names, strict=False)]
        traced_kwargs = {k: _with_leaves(v, k, leaf) for k, v in kwargs.items()}
        name = _function_name(self.fn)
        try:
            with (
                refuse_conversions(f"cg.compile is tracing {name}", tracing=True),
                recording_tests(ValueTest, Select),
                numerics.errstate(nonfinite="ignore"),
                np.errstate(all="ignore"),
            ):
                out = self.fn(*traced_args, **traced_kwargs)
        except TraceError:
            raise
        except Exception as error:
            # An error eager raises too is eager's to report, exactly as eager reports it.
            self.fn(*args, **kwargs)
            raise TraceError(
                f"cg.compile could not trace {name}: it runs on arrays, but on the traced "
                f"Nodes it raised {type(error).__name__}: {error}"
            ) from error
        writer = _Writer(name, start, made, _returned_names(self.fn))
        # Traced on another library's stand-ins: NumPy calls of this signature run it plain.
        trace = writer.write(out, reuse_buffers=on_numpy)
        trace.dtypes = _map_outputs(out, _node_dtype)
        self.sources.append(trace.numpy_source)
        self.traces += 1
        self._note_retrace(args, kwargs, names)
        return trace

    def _note_retrace(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], names: list[str]
    ) -> None:
        signature = [(n, _describe_signature(a)) for n, a in zip(names, args, strict=False)]
        signature += [(k, _describe_signature(v)) for k, v in kwargs.items()]
        previous = self._signatures[-1] if self._signatures else None
        self._signatures.append(signature)
        if self.traces <= RETRACE_WARNING_AFTER or self._warned or previous is None:
            return
        self._warned = True
        changes = [
            f"{n!r} changed from {old} to {new}"
            for (n, old), (_, new) in zip(previous, signature, strict=False)
            if old != new
        ] or ["the arguments' structure changed"]
        warnings.warn(
            f"{_function_name(self.fn)} has been traced {self.traces} times, each a new "
            f"signature ({'; '.join(changes)}): each trace costs several eager calls. Keep "
            "array shapes fixed (pad or batch the data), and pass values that change "
            "(learning rates) as float arrays, which are traced, rather than as static ints",
            TraceWarning,
            stacklevel=4,
        )


def _function_name(fn: Any) -> str:
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() and not keyword.iskeyword(name) else "f"


def _parameter_names(fn: Any, count: int, kwargs: dict[str, Any]) -> list[str]:
    """A name for each positional argument: ``fn``'s parameter names where it has them."""
    try:
        parameters = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        parameters = []
    names = [p.name for p in parameters[:count]]
    return names + [f"arg{i}" for i in range(len(names), count)]


def _with_leaves(value: Any, name: str, leaf: Callable[[Any, str], Node]) -> Any:
    """``value`` with every traced value replaced by ``leaf(value, name)``: what ``fn`` sees."""
    kind = type(value)
    if (kind is np.ndarray and value.dtype.char in _FLOAT_KINDS) or kind in (
        float,
        np.float64,
        np.float32,
    ):
        return leaf(value, name)
    if kind is tuple or kind is list:
        return kind([_with_leaves(item, f"{name}{i}", leaf) for i, item in enumerate(value)])
    if kind is dict:
        return {
            k: _with_leaves(item, str(k) if str(k).isidentifier() else f"{name}_{i}", leaf)
            for i, (k, item) in enumerate(value.items())
        }
    return value


def _returned_names(fn: Any) -> Any:
    """The expression of ``fn``'s last top-level ``return`` (for naming outputs), or None."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    function = tree.body[0] if tree.body else None
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    returns = [s for s in function.body if isinstance(s, ast.Return)]
    return returns[-1].value if returns else None


# -- writing the code ---------------------------------------------------------------------------


class _Trace:
    """One signature's generated function and its source; ``on(backend)`` the same code with
    another library's namespace."""

    def __init__(self, function: Callable[..., Any], source: str) -> None:
        self.function = function  # the plain lines, which every library runs
        self.source = source
        # What a NumPy replay runs: the plain lines, or with buffers reused (_reuse_buffers).
        self.numpy_function = function
        self.numpy_source = source
        self.name = function.__name__
        self.dtypes: Any = None  # the traced outputs' dtypes, in the outputs' structure
        self._on: dict[backends.Backend, Callable[..., Any]] = {}

    def on(self, backend: backends.Backend) -> Callable[..., Any]:
        """The generated function with ``backend``'s namespace, constants and op forwards."""
        function = self._on.get(backend)
        if function is None:
            namespace = backends.namespace_for(self.function.__globals__, backend)
            if backend.lazy:
                # Dask: no value is looked at here; the results carry the check, run by
                # the user's compute (backends.Backend.checked_lazily).
                namespace["check_finite"] = _no_check
            else:
                namespace["check_finite"] = functools.partial(_check_on, backend)
            code = backends.code_for(self.function, self.source, backend)
            function = types.FunctionType(code, namespace, self.name)
            self._on[backend] = function
        return function


_NUMPY_LEAVES = (np.ndarray, np.float64, np.float32)

_add_reduce: Any = np.add.reduce
_maximum_reduce: Any = np.maximum.reduce
_minimum_reduce: Any = np.minimum.reduce


class _NumPy:
    """The ``xp`` of compiled code on NumPy: NumPy's own functions, except that the ones the
    templates call most go straight to the ufunc or method NumPy's wrapper ends in for an
    ndarray (``np.sum`` is ``np.add.reduce`` behind 1.5 µs of Python, ``np.reshape`` is
    ``.reshape`` behind 0.6 µs): the same computation, so the same bits."""

    def __getattr__(self, name: str) -> Any:
        value = getattr(np, name)
        self.__dict__[name] = value  # found in the instance's dict from now on
        return value

    @staticmethod
    def sum(x: Any, /, axis: Any = None, keepdims: bool = False, **other: Any) -> Any:
        if type(x) is np.ndarray and not other:  # np.sum's own call (_wrapreduction)
            return _add_reduce(x, axis, None, None, keepdims=keepdims)
        return np.sum(x, axis=axis, keepdims=keepdims, **other)

    @staticmethod
    def max(x: Any, /, axis: Any = None, keepdims: bool = False, **other: Any) -> Any:
        if type(x) is np.ndarray and not other:
            return _maximum_reduce(x, axis, None, None, keepdims=keepdims)
        return np.max(x, axis=axis, keepdims=keepdims, **other)

    @staticmethod
    def min(x: Any, /, axis: Any = None, keepdims: bool = False, **other: Any) -> Any:
        if type(x) is np.ndarray and not other:
            return _minimum_reduce(x, axis, None, None, keepdims=keepdims)
        return np.min(x, axis=axis, keepdims=keepdims, **other)

    @staticmethod
    def permute_dims(x: Any, axes: Any = None) -> Any:
        if type(x) is np.ndarray:  # np.transpose's own call (_wrapfunc)
            return x.transpose(axes)
        return np.permute_dims(x, axes)

    @staticmethod
    def reshape(x: Any, /, shape: Any, **other: Any) -> Any:
        if type(x) is np.ndarray and not other:  # np.reshape's own call (_wrapfunc)
            return x.reshape(shape)
        return np.reshape(x, shape, **other)


_XP = _NumPy()


def _no_check(*values: Any) -> None:
    pass


def _check_on(backend: backends.Backend, *values: Any) -> None:
    if not backend.all_finite(values):
        raise _ReplayFailedError


def _stand_in(backend: backends.Backend, made: list[Any], value: Any) -> Any:
    if not backends.is_foreign_array(value):
        return value
    made.append(backend.stand_in(value))
    return made[-1]


def _to_numpy(backend: backends.Backend, value: Any) -> Any:
    return backend.to_numpy(value) if backends.is_foreign_array(value) else value


def _map_leaves(value: Any, change: Callable[[Any], Any]) -> Any:
    """``value`` (an argument) with ``change`` applied to every array in it."""
    kind = type(value)
    if kind is tuple or kind is list:
        return kind([_map_leaves(item, change) for item in value])
    if kind is dict:
        return {k: _map_leaves(item, change) for k, item in value.items()}
    return change(value)


def _leaf_names(value: Any, name: str, names: list[str]) -> None:
    """The names of ``value``'s traced values, in ``_split``'s order, as errors say them."""
    kind = type(value)
    if kind is tuple or kind is list:
        for i, item in enumerate(value):
            _leaf_names(item, f"{name}[{i}]", names)
    elif kind is dict:
        for k, item in value.items():
            _leaf_names(item, f"{name}[{k!r}]", names)
    elif kind in (np.ndarray, float, np.float64, np.float32):
        if kind is not np.ndarray or value.dtype.char in _FLOAT_KINDS:
            names.append(name)
    elif backends.is_foreign_array(value):
        names.append(name)


def _map_outputs(out: Any, change: Callable[[Any, int], Any]) -> Any:
    """``out`` (what a step returns) with ``change(array, position)`` applied to each array
    or Node, numbered in return order."""
    count = iter(range(1 << 62))

    def walk(value: Any) -> Any:
        if isinstance(value, (tuple, list)):
            return type(value)([walk(item) for item in value])
        if isinstance(value, dict):
            return {k: walk(item) for k, item in value.items()}
        if isinstance(value, Node):
            return change(value.value, next(count))
        if isinstance(value, np.ndarray) or backends.is_foreign_array(value):
            return change(value, next(count))
        return value

    return walk(out)


def _node_dtype(array: Any, i: int) -> Any:
    return array.dtype


def _flat_dtypes(dtypes: Any) -> list[Any]:
    flat: list[Any] = []
    stack = [dtypes]
    while stack:
        value = stack.pop()
        if isinstance(value, (tuple, list)):
            stack.extend(reversed(value))
        elif isinstance(value, dict):
            stack.extend(reversed(value.values()))
        elif isinstance(value, np.dtype):
            flat.append(value)
    return flat


_RESERVED = {"xp", "asarray", "copy", "check_finite", "unbuffered", *dir(builtins), *keyword.kwlist}


class _Writer:
    """Writes a traced graph as a Python function, checking each line against the trace."""

    def __init__(
        self, name: str, start: int, made: list[tuple[Node, str, Any]], returned: Any
    ) -> None:
        self.name = name
        self.start = start
        self.used = set(_RESERVED) | {name}
        self.suffixes: dict[str, int] = {}
        self.namespace: dict[str, Any] = {
            "xp": _XP,
            "asarray": np.asarray,
            "copy": np.copy,  # a method call would tie the code to NumPy's arrays
            "check_finite": _check_finite,
        }
        self.code: dict[int, str] = {}  # node id -> its variable name or literal
        self.env: dict[str, Any] = {}  # variable -> what the compiled code holds there
        self.parameters: list[str] = []
        self.constants: list[str] = []
        self.lines: list[str] = []
        self.returned = returned
        self.preferred: dict[int, str] = {}
        self.constant_nodes: dict[int, Node] = {}
        self.leaves = {node.id: (node, name, value) for node, name, value in made}
        for node, leaf_name, value in made:
            variable = self.fresh(leaf_name)
            self.parameters.append(variable)
            self.code[node.id] = variable
            self.env[variable] = value

    def fresh(self, base: str) -> str:
        base = "".join(c if c.isalnum() or c == "_" else "_" for c in base) or "v"
        if not base[0].isalpha() and base[0] != "_":
            base = f"v_{base}"
        candidate, n = base, self.suffixes.get(base, 1)
        while candidate in self.used:  # from the last suffix taken: no rescan per name
            n += 1
            candidate = f"{base}_{n}"
        self.suffixes[base] = n
        self.used.add(candidate)
        return candidate

    def write(self, out: Any, reuse_buffers: bool = True) -> _Trace:
        outputs: list[Node] = []
        _collect_nodes(out, outputs)
        self._name_outputs(out, self.returned)
        nodes = self._needed(outputs)
        needed = {node.id for node in nodes}
        unused = [name for node, name, _ in self.leaves.values() if node.id not in needed]
        if unused:
            # Unused, or read through .value (cg.hvp's v is, for now): a constant of the trace.
            warnings.warn(
                f"{self.name}'s compiled code does not use {', '.join(map(repr, unused))}: if "
                "it reads their .value, the compiled code keeps the values of this call; "
                "compute with them as Nodes, or compile a function without them",
                TraceWarning,
                stacklevel=5,
            )
        for node in nodes:
            if node.id in self.code or node.id in self.constant_nodes:
                continue
            if node.op is None or node.id < self.start:
                self._constant(node)
            else:
                self._line(node)
        result = self._expression(out)
        body = [f"# constants: {', '.join(self.constants)}"] if self.constants else []
        # NaN and inf that come in raise no flag: the small arguments are checked, and the
        # results, which they reach unless masked; a pass over data the size of X would
        # cost as much as a step's own passes.
        checked = [
            self.code[node.id] for node, _, _ in self.leaves.values() if node.size <= SMALL_ARGUMENT
        ]
        checked += [
            self.code[node.id]
            for node in dict.fromkeys(outputs)
            if node.id in self.code
            and node.id not in self.constant_nodes
            and node.id not in self.leaves
        ]
        tail = [f"check_finite({', '.join(dict.fromkeys(checked))})"] if checked else []
        tail.append(f"return {result}")
        source = self._define([*body, *self.lines, *tail], self.namespace)
        trace = _Trace(self.namespace[self.name], source)
        if reuse_buffers:
            self._reuse_buffers(trace, body, tail, out)
        return trace

    def _define(self, body: list[str], namespace: dict[str, Any]) -> str:
        """Define the function of ``body``'s lines in ``namespace``; its source (in
        linecache too, so that a traceback shows the line)."""
        source = f"def {self.name}({', '.join(self.parameters)}):\n" + "".join(
            f"    {line}\n" for line in body
        )
        filename = f"<cg.compile {self.name} #{next(_trace_counter)}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(builtins.compile(source, filename, "exec"), namespace)
        return source

    def _reuse_buffers(self, trace: _Trace, head: list[str], tail: list[str], out: Any) -> None:
        """Give ``trace`` a NumPy version whose large elementwise lines write into a dead
        temporary's array (``out=``), where ``_plan_buffers`` finds one.

        At 10x10⁶ a fresh 8 MB array per line costs its page faults, as much as the
        arithmetic. The plan holds for the traced layouts: a call whose arrays have other
        strides (same signature, another layout) runs the plain lines, where NumPy lays each
        result out after its operands. The new code is checked once, bit for bit, against
        the trace's outputs, or not kept.
        """
        arguments = [value for _, _, value in self.leaves.values()]
        if not any(_donor(value) for value in self.env.values()):
            return  # nothing large (a scalar chain of 10⁶ lines is not parsed for nothing)
        lines = _plan_buffers(self.lines, self.env, tail)
        if lines is None:
            return
        arrays = [p for p in self.parameters if type(self.env[p]) is np.ndarray]
        guard = [
            f"# buffers reused (NumPy; arrays of {REUSED_BUFFER_BYTES // 1024} KiB and more): "
            "out=v writes into v's array,",
            "# which no later line reads; arguments of other strides than traced run the "
            "plain lines",
        ]
        if arrays:
            strides = "".join(f"{p}.strides, " for p in arrays)[:-2]
            traced = tuple(self.env[p].strides for p in arrays)
            comma = "," if len(arrays) == 1 else ""
            guard += [
                f"if ({strides}{comma}) != {traced!r}:",
                f"    return unbuffered({', '.join(self.parameters)})",
            ]
        namespace = {**self.namespace, "unbuffered": trace.function}
        source = self._define([*head, *guard, *lines, *tail], namespace)
        function = namespace[self.name]
        expected: list[Any] = []
        _map_outputs(out, lambda value, i: expected.append(value))
        got: list[Any] = []
        try:
            with np.errstate(all="ignore"):
                _map_outputs(function(*arguments), lambda value, i: got.append(value))
        except _ReplayFailedError:
            return  # an inf or NaN in the trace's values: the plain lines, unchecked
        except Exception:  # a bug in the plan: said below
            got = []
        if len(got) == len(expected) and all(
            _same_bits(g, np.asarray(e)) for g, e in zip(got, expected, strict=True)
        ):
            trace.numpy_function, trace.numpy_source = function, source
        else:
            warnings.warn(
                f"cg.compile: reusing buffers changed {self.name}'s results, so its NumPy "
                "replays run the plain lines (as right, and a little slower); this is a bug in "
                "compgraph, please report it with the function",
                RuntimeWarning,
                stacklevel=5,
            )

    # -- names ------------------------------------------------------------------------------

    def _name_outputs(self, out: Any, expression: Any) -> None:
        """Give returned Nodes the names ``fn``'s return statement gives them."""
        stack = [(out, expression)]
        while stack:
            value, expr = stack.pop()
            if expr is None:
                continue
            if isinstance(value, Node) and isinstance(expr, ast.Name):
                self.preferred.setdefault(value.id, expr.id)
            elif isinstance(value, (tuple, list)) and isinstance(expr, (ast.Tuple, ast.List)):
                if len(value) == len(expr.elts):
                    stack.extend(zip(value, expr.elts, strict=True))
            elif isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(item, Node) and isinstance(key, str):
                        self.preferred.setdefault(item.id, key)

    def _variable_for(self, node: Node) -> str:
        if node.id in self.preferred:
            return self.fresh(self.preferred[node.id])
        if node.name is not None:
            return self.fresh(node.name)
        source = getattr(node, "vjp_of", None)
        if source is not None and source.id in self.code:
            return self.fresh(f"g_{self.code[source.id]}")
        return self.fresh(node.op.name if node.op is not None else "v")

    # -- the graph --------------------------------------------------------------------------

    def _needed(self, outputs: list[Node]) -> list[Node]:
        """The nodes the outputs need, in creation order; nodes made before the trace are
        constants, and so not walked through."""
        seen: dict[int, Node] = {}
        stack = list(outputs)
        while stack:
            node = stack.pop()
            if node.id in seen:
                continue
            seen[node.id] = node
            if node.id >= self.start and node.id not in self.leaves:
                stack.extend(node.parents)
        return [seen[i] for i in sorted(seen)]

    def _constant(self, node: Node) -> None:
        if node.requires_grad and node.id >= self.start:
            raise TraceError(
                f"cg.compile is tracing {self.name}: {node.describe()} is a Node made inside "
                "it that requires a gradient but was computed by no op (cg.Node(...) of "
                "another node's .value?): its value would be fixed at tracing. Compute it with "
                "ops on the arguments (w - lr * dw), or pass it as an argument"
            )
        if node.requires_grad:
            warnings.warn(
                f"{self.name} reads {node.describe()} from outside its arguments: the "
                "compiled code keeps its value at tracing; pass it as an argument if it "
                "changes",
                TraceWarning,
                stacklevel=6,
            )
        self.constant_nodes[node.id] = node  # named when a line first needs its name

    def _constant_name(self, node: Node) -> str:
        if node.id not in self.code:
            value = node.value
            shape = "x".join(map(str, value.shape)) if value.shape else "0d"
            variable = self.fresh(f"{node.name or 'const'}_{shape}")
            self.constants.append(f"{variable} ({value.dtype} {value.shape})")
            held = value[()] if value.ndim == 0 else value
            self.namespace[variable] = held
            self.code[node.id] = variable
            self.env[variable] = held
        return self.code[node.id]

    def _operand(self, node: Node, parent: Node) -> str:
        scalar_inputs = node.op is not None and node.op.scalar_inputs
        if parent.id in self.constant_nodes:
            literal = _float_literal(parent)
            # A Python float is a weak scalar in NumPy's promotion: the same result only
            # where every operand is float64 anyway.
            if literal is not None and all(p.dtype == np.float64 for p in node.parents):
                return literal if scalar_inputs else f"asarray({literal})"
            code = self._constant_name(parent)
        else:
            code = self.code[parent.id]
        if parent.ndim == 0 and not scalar_inputs:
            return f"asarray({code})"  # eager hands such an op 0-d arrays, not scalars
        return code

    def _line(self, node: Node) -> None:
        op = node.op
        assert op is not None
        operands = [self._operand(node, p) for p in node.parents]
        for expr in (self._template(node, operands), self._forward_call(node, operands)):
            if expr is None:
                continue
            try:
                value = eval(expr, self.namespace, self.env)
            except Exception:  # a template that cannot run: forward instead
                continue
            if node.ndim == 0 and type(value) is np.ndarray:
                expr, value = f"{expr}[()]", value[()]
            if _same_bits(value, node.value):
                break
        else:
            raise TraceError(
                f"cg.compile is tracing {self.name}: replaying op {op.name!r} "
                f"({op.__name__}) did not reproduce its traced value at {node.describe()}; "
                "its forward is not a function of its inputs and attrs alone"
            )
        if expr == operands[0] and expr in self.env and op.builtin:
            self.code[node.id] = expr  # the identity (cg.positive): the same variable
            return
        variable = self._variable_for(node)
        source = getattr(node, "vjp_of", None)
        comment = ""
        if source is not None:
            made_by = self.code.get(source.id, source.describe())
            comment = f"  # vjp of {made_by} ({source.op.name if source.op else 'leaf'})"
        self.lines.append(f"{variable} = {expr}{comment}")
        if not op.builtin and op not in (ValueTest, Select):
            self.lines.append(f"check_finite({variable})")  # eager checks a user op's output
        self.code[node.id] = variable
        self.env[variable] = value

    def _template(self, node: Node, operands: list[str]) -> str | None:
        op = node.op
        assert op is not None
        if op.code is None:
            return None
        named = {field for _, field, _, _ in string.Formatter().parse(op.code) if field}
        if any(key not in named for key in node.attrs):
            # An attr the template does not spell (sum's where=, max's initial=) would be
            # dropped: even a line that matches the trace could be wrong on the next call.
            return None
        fields = {}
        for key, value in {**_forward_defaults(op), **node.attrs}.items():
            fields[key] = self._attr(key, value, in_brackets=key == "index")
        try:
            return op.code.format(*operands, **fields)
        except (IndexError, KeyError):
            return None

    def _forward_call(self, node: Node, operands: list[str]) -> str:
        op = node.op
        assert op is not None
        owner = self.fresh(op.__name__) if op.__name__ not in self.namespace else op.__name__
        if self.namespace.get(owner) is not op:
            self.namespace[owner] = op
        attrs = [f"{k}={self._attr(k, v)}" for k, v in node.attrs.items()]
        return f"{owner}.forward({', '.join([*operands, *attrs])})"

    def _attr(self, key: str, value: Any, in_brackets: bool = False) -> str:
        """An attr as code: a literal, an index as written in brackets, or a named constant."""
        if in_brackets and isinstance(value, tuple):
            index = _index_literal(value)
            if index is not None:
                return index
        literal = _literal(value)
        if literal is not None:
            return literal
        shape = getattr(value, "shape", None)
        suffix = "x".join(map(str, shape)) if shape else ""
        variable = self.fresh(f"{key}_{suffix}" if suffix else key)
        self.namespace[variable] = value
        described = f"{value.dtype} {shape}" if shape is not None else type(value).__name__
        self.constants.append(f"{variable} ({described})")
        return variable

    def _expression(self, out: Any) -> str:
        """The return expression rebuilding ``out``'s structure from the variables."""
        if isinstance(out, Node):
            if out.id in self.constant_nodes:
                code = self._constant_name(out)
                return f"copy({code})" if out.ndim else f"asarray({code})"
            code = self.code[out.id]
            return f"asarray({code})" if out.ndim == 0 else code
        if isinstance(out, tuple):
            items = [self._expression(item) for item in out]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        if isinstance(out, list):
            return f"[{', '.join(self._expression(item) for item in out)}]"
        if isinstance(out, dict):
            pairs = [f"{self._value(k)}: {self._expression(v)}" for k, v in out.items()]
            return "{" + ", ".join(pairs) + "}"
        return self._value(out)

    def _value(self, value: Any) -> str:
        """A value that is not a Node, as a literal or a named constant (arrays copied)."""
        literal = _literal(value)
        if literal is not None:
            return literal
        variable = self.fresh("returned")
        self.namespace[variable] = value
        return f"copy({variable})" if isinstance(value, np.ndarray) else variable


_trace_counter = iter(range(1, 1 << 62))

# -- buffers reused in NumPy replays -------------------------------------------------------------

#: Python's operators in compiled lines, as the NumPy ufuncs ndarray's operators call.
_OPERATOR_UFUNCS: dict[type[ast.AST], str] = {
    ast.Add: "add",
    ast.Sub: "subtract",
    ast.Mult: "multiply",
    ast.Div: "divide",
    ast.USub: "negative",
}
#: The ufuncs (as xp names them) that write into ``out=`` the bits they return fresh, into
#: another array or into one of their inputs (checked on float32 and float64, 4·10⁶ values
#: from 1e-3 to 300 in scale with 0, ±inf, NaN and subnormals, broadcast operands too).
#: Not power: ``x ** 2`` and ``x ** 0.5`` are square and sqrt, np.power is pow().
_IN_PLACE_UFUNCS = frozenset(
    {*_OPERATOR_UFUNCS.values(), "exp", "log", "log1p", "expm1", "sqrt", "abs", "tanh"}
    | {"maximum", "minimum"}
)
#: Calls that return a new array, never a view of an operand (so no alias to track).
_FRESH_CALLS = frozenset({"sum", "max", "min"})


def _elementwise(expression: ast.expr) -> tuple[str, list[ast.expr]] | None:
    """``expression`` as (xp's ufunc name, its operands), if it is one of _IN_PLACE_UFUNCS."""
    if isinstance(expression, ast.BinOp) and type(expression.op) in _OPERATOR_UFUNCS:
        return _OPERATOR_UFUNCS[type(expression.op)], [expression.left, expression.right]
    if isinstance(expression, ast.UnaryOp) and type(expression.op) in _OPERATOR_UFUNCS:
        return _OPERATOR_UFUNCS[type(expression.op)], [expression.operand]
    name = _xp_call(expression)
    if name in _IN_PLACE_UFUNCS and isinstance(expression, ast.Call) and not expression.keywords:
        args = expression.args
        if len(args) == getattr(np, name).nin and not any(isinstance(a, ast.Starred) for a in args):
            return name, list(args)
    return None


def _xp_call(expression: ast.expr) -> str | None:
    """``name`` where ``expression`` is ``xp.name(...)``."""
    if (
        isinstance(expression, ast.Call)
        and isinstance(expression.func, ast.Attribute)
        and isinstance(expression.func.value, ast.Name)
        and expression.func.value.id == "xp"
    ):
        return expression.func.attr
    return None


def _fresh(expression: ast.expr) -> bool:
    """Whether ``expression`` makes a new array whatever its operands (so aliases none)."""
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, ast.MatMult):
        return True
    return _elementwise(expression) is not None or _xp_call(expression) in _FRESH_CALLS


def _donor(value: Any) -> bool:
    """Whether a line's traced ``value`` is an array whose memory could be written again."""
    return (
        type(value) is np.ndarray
        and value.nbytes >= REUSED_BUFFER_BYTES
        and value.base is None
        and value.flags.c_contiguous
        and value.flags.writeable
    )


def _plan_buffers(lines: list[str], env: dict[str, Any], tail: list[str]) -> list[str] | None:
    """``lines`` with large elementwise results written into dead temporaries' arrays
    (``v = xp.multiply(a, b, out=t)``), or None where no line can be.

    The lines assign each variable once, in order, so one pass over them suffices. A
    *buffer* is an array made by a line that returns a new one (an elementwise op, a matmul,
    a reduction) of at least REUSED_BUFFER_BYTES, C-contiguous and owning its memory. Every
    other line's result may be a view of its operands, or one of them (transpose, reshape,
    an op's forward), so it keeps their buffers alive. Arguments and constants are never
    buffers, and what the function returns (read in ``tail``) keeps its buffers for good:
    a buffer is written again only when no variable that may alias it is read later. A line
    writes into one only if its traced result has the buffer's shape, dtype and layout, and
    every operand that may alias the buffer *is* it (a ufunc reads an element, then writes
    it; a view's elements would be read after they were written).
    """
    statements = [ast.parse(line).body[0] for line in lines]
    last_read: dict[str, float] = {}
    for i, statement in enumerate(statements):
        for name in _names_read(statement):
            last_read[name] = i
    for line in tail:
        for name in _names_read(ast.parse(line).body[0]):
            last_read[name] = math.inf
    made: list[np.ndarray] = []  # buffer -> its traced array (shape and dtype)
    users: list[list[str]] = []  # buffer -> the variables that may alias it, in order
    aliases: dict[str, frozenset[int]] = {}  # variable -> the buffers it may alias
    holder: dict[str, int] = {}  # variable -> the buffer it is (rather than a view of)

    def free(value: np.ndarray, read: list[str], i: int) -> int | None:
        """A buffer line ``i`` may write into: an operand's if one can be (its data are
        in cache), else the one last read latest."""
        best, best_last = None, -1.0
        for buffer, names in enumerate(users):
            if made[buffer].shape != value.shape or made[buffer].dtype != value.dtype:
                continue
            if any(last_read.get(n, -1) > i for n in names):
                continue
            if any(buffer in aliases.get(n, ()) and holder.get(n) != buffer for n in read):
                continue
            if any(holder.get(n) == buffer for n in read):
                return buffer
            last = max(last_read.get(n, -1) for n in names)
            if last > best_last:
                best, best_last = buffer, last
        return best

    planned = list(lines)
    for i, statement in enumerate(statements):
        if not isinstance(statement, ast.Assign):
            continue  # check_finite(v): a read
        variable = statement.targets[0].id  # type: ignore[attr-defined]
        expression = statement.value
        value = env[variable]
        read = [n for n in _names_read(statement) if n in aliases]
        if not _fresh(expression):
            aliases[variable] = frozenset().union(*(aliases[n] for n in read))
            for buffer in aliases[variable]:
                users[buffer].append(variable)
            continue
        if not _donor(value):
            aliases[variable] = frozenset()
            continue
        elementwise = _elementwise(expression)
        reused = None if elementwise is None else free(value, read, i)
        if reused is None:
            buffer = len(made)
            made.append(value)
            users.append([])
        else:
            assert elementwise is not None
            buffer = reused
            name, operands = elementwise
            holders = [n for n in (*read, *reversed(users[buffer])) if holder.get(n) == buffer]
            text = ", ".join(ast.get_source_segment(lines[i], o) or "" for o in operands)
            rest = lines[i][expression.end_col_offset :]  # its comment
            planned[i] = f"{variable} = xp.{name}({text}, out={holders[0]}){rest}"
        aliases[variable] = frozenset({buffer})
        holder[variable] = buffer
        users[buffer].append(variable)
    return planned if planned != lines else None


def _names_read(statement: ast.stmt) -> list[str]:
    """The names a statement reads, once each."""
    found = [
        n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    ]
    return list(dict.fromkeys(found))


def _collect_nodes(out: Any, found: list[Node]) -> None:
    stack = [out]
    while stack:  # in the order they are returned
        value = stack.pop()
        if isinstance(value, Node):
            found.append(value)
        elif isinstance(value, (tuple, list)):
            stack.extend(reversed(value))
        elif isinstance(value, dict):
            stack.extend(reversed(value.values()))


@functools.cache
def _forward_defaults(op: type[Op]) -> dict[str, Any]:
    """The keyword arguments ``op.forward`` defaults, for templates naming every attr."""
    return {
        p.name: p.default
        for p in inspect.signature(op.forward).parameters.values()
        if p.default is not p.empty
    }


def _float_literal(node: Node) -> str | None:
    value = node.value
    if value.ndim or value.dtype != np.float64 or not math.isfinite(value):
        return None
    text = repr(float(value))
    return f"({text})" if text.startswith("-") else text


def _literal(value: Any) -> str | None:
    """Python source that evaluates to ``value`` (equal and of the same type), or None."""
    if value is None or isinstance(value, (bool, str)) or type(value) is int:
        return repr(value)
    if type(value) is float:
        return repr(value) if math.isfinite(value) else None
    if type(value) is tuple:
        items = [_literal(item) for item in value]
        if any(item is None for item in items):
            return None
        return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"  # type: ignore[arg-type]
    if isinstance(value, np.dtype) and value in (np.float32, np.float64):
        return f"xp.{value.name}"
    if type(value) is slice:
        bounds = (value.start, value.stop, value.step)
        if all(p is None or type(p) is int for p in bounds):
            return f"slice({', '.join(map(repr, bounds))})"
    return None


def _index_literal(index: tuple[Any, ...]) -> str | None:
    """An index tuple as written inside brackets (``:, 1:3``), or None; x[(i,)] is x[i]."""
    if not index:
        return "..."  # x[()] as the standard spells it (an empty tuple indexes 0-d only)
    parts = []
    for item in index:
        if item is Ellipsis:
            parts.append("...")
        elif item is None or type(item) is int:
            parts.append(repr(item))
        elif type(item) is slice and all(
            p is None or type(p) is int for p in (item.start, item.stop, item.step)
        ):
            start, stop, step = (
                "" if p is None else str(p) for p in (item.start, item.stop, item.step)
            )
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        else:
            return None
    return ", ".join(parts)


def _same_bits(value: Any, expected: np.ndarray) -> bool:
    array = np.asarray(value)
    if array.dtype != expected.dtype or array.shape != expected.shape:
        return False
    if array.size and 0 in array.strides and array.strides == expected.strides:
        # Broadcast views alike (a stand-in for data held elsewhere, its transpose): their
        # distinct elements, where tobytes would copy every repeat.
        index = tuple(0 if stride == 0 else slice(None) for stride in array.strides)
        array, expected = array[index], expected[index]
    return array.tobytes() == expected.tobytes()
