"""The optimizer seam: how a training step turns gradients into new parameters.

An optimizer is a small object with two pure methods, in the style of autograd's
``misc/optimizers.py`` and tinygrad's ``nn/optim.py`` but functional::

    state = optimizer.init(parameters)
    parameters, state = optimizer.update(parameters, gradients, state)

``parameters`` and ``gradients`` are dicts of arrays with the same names (a gradient may
also be named ``d<name>``, as the course's ``grads`` are); ``update`` returns NEW dicts of
new read-only arrays and never modifies what it was given, so a step can be replayed, and
the state (velocities, squared averages, the step count) is plain data.

The updates are the course's (Deep Learning Specialization, course 2, week 2), with the
learning rate α, for every parameter θ and its gradient dθ:

    gradient descent   θ ← θ − α dθ
    momentum           v ← β v + (1 − β) dθ;             θ ← θ − α v
    RMSprop            s ← β s + (1 − β) dθ²;            θ ← θ − α dθ / (√s + ε)
    Adam               v ← β₁ v + (1 − β₁) dθ;  s ← β₂ s + (1 − β₂) dθ²;  t ← t + 1;
                       θ ← θ − α v̂ / (√ŝ + ε),  v̂ = v / (1 − β₁ᵗ),  ŝ = s / (1 − β₂ᵗ)

and the learning-rate schedules are the course's ``update_lr`` α₀ / (1 + decay·epoch) and
``schedule_lr_decay`` α₀ / (1 + decay·⌊epoch / interval⌋).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

from compgraph.errors import ShapeError

__all__ = [
    "OPTIMIZERS",
    "Adam",
    "GradientDescent",
    "Momentum",
    "Optimizer",
    "RMSprop",
    "make_optimizer",
    "schedule_lr_decay",
    "update_lr",
]

Arrays = dict[Any, np.ndarray]
State = dict[str, Any]


class Optimizer(Protocol):
    """What a training loop needs of an optimizer: ``init`` and a pure ``update``.

    ``learning_rate`` is the step α; ``update(..., learning_rate=α_t)`` overrides it for
    one step (the loop passes the scheduled rate this way).
    """

    learning_rate: float

    def init(self, parameters: Mapping[Any, Any]) -> State: ...

    def update(
        self,
        parameters: Mapping[Any, Any],
        gradients: Mapping[Any, Any],
        state: State,
        *,
        learning_rate: float | None = None,
    ) -> tuple[Arrays, State]: ...


class GradientDescent:
    """Gradient descent: θ ← θ − α dθ. Its state is empty.

    Args:
        learning_rate: the step α (> 0).

    Example:
        >>> import numpy as np
        >>> from compgraph.models.optimizers import GradientDescent
        >>> optimizer = GradientDescent(learning_rate=0.1)
        >>> parameters = {"W1": np.array([[1.0, 2.0]])}
        >>> state = optimizer.init(parameters)
        >>> new, state = optimizer.update(parameters, {"W1": np.array([[1.0, -1.0]])}, state)
        >>> new["W1"].tolist(), parameters["W1"].tolist()
        ([[0.9, 2.1]], [[1.0, 2.0]])
    """

    def __init__(self, learning_rate: float = 0.01) -> None:
        self.learning_rate = _positive(learning_rate, "learning_rate", "GradientDescent")

    def __repr__(self) -> str:
        return f"GradientDescent(learning_rate={self.learning_rate!r})"

    def init(self, parameters: Mapping[Any, Any]) -> State:
        """The starting state: nothing to remember."""
        _arrays(parameters, "GradientDescent.init")
        return {}

    def update(
        self,
        parameters: Mapping[Any, Any],
        gradients: Mapping[Any, Any],
        state: State,
        *,
        learning_rate: float | None = None,
    ) -> tuple[Arrays, State]:
        """One step θ ← θ − α dθ; returns ``(new parameters, state)``."""
        where = "GradientDescent.update"
        alpha = self._rate(learning_rate, where)
        arrays, grads = _pairs(parameters, gradients, where)
        return {name: _frozen(value - alpha * grads[name]) for name, value in arrays.items()}, {}

    def _rate(self, learning_rate: float | None, where: str) -> float:
        if learning_rate is None:
            return self.learning_rate
        return _positive(learning_rate, "learning_rate", where)


class Momentum(GradientDescent):
    """Momentum, the course's exponentially weighted average: v ← βv + (1 − β)dθ; θ ← θ − αv.

    PyTorch's ``SGD(momentum=β)`` accumulates v ← βv + dθ instead (no 1 − β), so its
    steps are 1/(1 − β) times larger for the same α. The velocities start at zero.

    Args:
        learning_rate: the step α (> 0).
        beta: the momentum β in [0, 1) (the course's 0.9).

    Example:
        >>> import numpy as np
        >>> from compgraph.models.optimizers import Momentum
        >>> optimizer = Momentum(learning_rate=1.0, beta=0.9)
        >>> parameters = {"b1": np.array([[0.0]])}
        >>> state = optimizer.init(parameters)
        >>> parameters, state = optimizer.update(parameters, {"db1": np.array([[1.0]])}, state)
        >>> round(float(state["v"]["b1"][0, 0]), 12), round(float(parameters["b1"][0, 0]), 12)
        (0.1, -0.1)
    """

    def __init__(self, learning_rate: float = 0.01, beta: float = 0.9) -> None:
        super().__init__(learning_rate)
        self.beta = _fraction(beta, "beta", "Momentum")

    def __repr__(self) -> str:
        return f"Momentum(learning_rate={self.learning_rate!r}, beta={self.beta!r})"

    def init(self, parameters: Mapping[Any, Any]) -> State:
        """The starting state: velocities v = 0 shaped like each parameter."""
        return {"v": _zeros_like(_arrays(parameters, "Momentum.init"))}

    def update(
        self,
        parameters: Mapping[Any, Any],
        gradients: Mapping[Any, Any],
        state: State,
        *,
        learning_rate: float | None = None,
    ) -> tuple[Arrays, State]:
        """One step v ← βv + (1 − β)dθ; θ ← θ − αv; returns ``(new parameters, state)``."""
        where = "Momentum.update"
        alpha = self._rate(learning_rate, where)
        arrays, grads = _pairs(parameters, gradients, where)
        velocity = _slot(state, "v", arrays, where)
        beta = self.beta
        v = {name: _frozen(beta * velocity[name] + (1 - beta) * grads[name]) for name in arrays}
        return {name: _frozen(arrays[name] - alpha * v[name]) for name in arrays}, {"v": v}


class RMSprop(GradientDescent):
    """RMSprop: s ← βs + (1 − β)dθ²; θ ← θ − α dθ / (√s + ε).

    As in the course's lecture (and PyTorch's ``RMSprop``), ε is added outside the square
    root; PyTorch's default β (its ``alpha``) is 0.99, the course's 0.999 as Adam's β₂.

    Args:
        learning_rate: the step α (> 0).
        beta: the averaging β in [0, 1).
        epsilon: ε > 0, which keeps the step finite where s is 0.

    Example:
        >>> import numpy as np
        >>> from compgraph.models.optimizers import RMSprop
        >>> optimizer = RMSprop(learning_rate=0.1, beta=0.75, epsilon=0.0)
        >>> parameters = {"w": np.array([1.0])}
        >>> state = optimizer.init(parameters)
        >>> parameters, state = optimizer.update(parameters, {"w": np.array([2.0])}, state)
        >>> state["s"]["w"].tolist(), parameters["w"].tolist()
        ([1.0], [0.8])
    """

    def __init__(
        self, learning_rate: float = 0.01, beta: float = 0.999, epsilon: float = 1e-8
    ) -> None:
        super().__init__(learning_rate)
        self.beta = _fraction(beta, "beta", "RMSprop")
        self.epsilon = _non_negative(epsilon, "epsilon", "RMSprop")

    def __repr__(self) -> str:
        return (
            f"RMSprop(learning_rate={self.learning_rate!r}, beta={self.beta!r}, "
            f"epsilon={self.epsilon!r})"
        )

    def init(self, parameters: Mapping[Any, Any]) -> State:
        """The starting state: squared averages s = 0 shaped like each parameter."""
        return {"s": _zeros_like(_arrays(parameters, "RMSprop.init"))}

    def update(
        self,
        parameters: Mapping[Any, Any],
        gradients: Mapping[Any, Any],
        state: State,
        *,
        learning_rate: float | None = None,
    ) -> tuple[Arrays, State]:
        """One step s ← βs + (1 − β)dθ²; θ ← θ − α dθ/(√s + ε)."""
        where = "RMSprop.update"
        alpha = self._rate(learning_rate, where)
        arrays, grads = _pairs(parameters, gradients, where)
        squares = _slot(state, "s", arrays, where)
        beta = self.beta
        s = {name: _frozen(beta * squares[name] + (1 - beta) * grads[name] ** 2) for name in arrays}
        new = {
            name: _frozen(arrays[name] - alpha * grads[name] / (np.sqrt(s[name]) + self.epsilon))
            for name in arrays
        }
        return new, {"s": s}


class Adam(GradientDescent):
    """Adam with bias correction, as the course writes it.

    v ← β₁v + (1 − β₁)dθ, s ← β₂s + (1 − β₂)dθ², t ← t + 1,
    θ ← θ − α v̂/(√ŝ + ε) with v̂ = v/(1 − β₁ᵗ) and ŝ = s/(1 − β₂ᵗ).

    t counts the updates (with mini-batches, the mini-batch steps, not the epochs) and
    starts at 0 in ``init``, so the first update corrects with t = 1. ε is added outside the
    square root, as in the course and PyTorch's ``Adam``; PyTorch folds the two corrections
    into the step size, which differs from this in the last bits only.

    Args:
        learning_rate: the step α (> 0).
        beta1, beta2: the averages' β₁ and β₂ in [0, 1) (the course's 0.9 and 0.999).
        epsilon: ε ≥ 0 (the course's 1e-8).

    Example:
        >>> import numpy as np
        >>> from compgraph.models.optimizers import Adam
        >>> optimizer = Adam(learning_rate=0.01)
        >>> parameters = {"w": np.array([1.0, 1.0])}
        >>> state = optimizer.init(parameters)
        >>> parameters, state = optimizer.update(parameters, {"w": np.array([3.0, -0.5])}, state)
        >>> state["t"], parameters["w"].round(6).tolist()  # the first step is ±α per entry
        (1, [0.99, 1.01])
    """

    def __init__(
        self,
        learning_rate: float = 0.01,
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
    ) -> None:
        super().__init__(learning_rate)
        self.beta1 = _fraction(beta1, "beta1", "Adam")
        self.beta2 = _fraction(beta2, "beta2", "Adam")
        self.epsilon = _non_negative(epsilon, "epsilon", "Adam")

    def __repr__(self) -> str:
        return (
            f"Adam(learning_rate={self.learning_rate!r}, beta1={self.beta1!r}, "
            f"beta2={self.beta2!r}, epsilon={self.epsilon!r})"
        )

    def init(self, parameters: Mapping[Any, Any]) -> State:
        """The starting state: v = s = 0 shaped like each parameter, and t = 0."""
        arrays = _arrays(parameters, "Adam.init")
        return {"t": 0, "v": _zeros_like(arrays), "s": _zeros_like(arrays)}

    def update(
        self,
        parameters: Mapping[Any, Any],
        gradients: Mapping[Any, Any],
        state: State,
        *,
        learning_rate: float | None = None,
    ) -> tuple[Arrays, State]:
        """One Adam step (see the class); returns ``(new parameters, state)`` with t + 1."""
        where = "Adam.update"
        alpha = self._rate(learning_rate, where)
        arrays, grads = _pairs(parameters, gradients, where)
        velocity = _slot(state, "v", arrays, where)
        squares = _slot(state, "s", arrays, where)
        t = state.get("t")
        if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
            raise ValueError(f"{where}: state['t'] must be the step count (>= 0), got {t!r}")
        t = int(t) + 1
        beta1, beta2 = self.beta1, self.beta2
        v = {name: _frozen(beta1 * velocity[name] + (1 - beta1) * grads[name]) for name in arrays}
        s = {
            name: _frozen(beta2 * squares[name] + (1 - beta2) * grads[name] ** 2) for name in arrays
        }
        new = {}
        for name in arrays:
            v_corrected = v[name] / (1 - beta1**t)
            s_corrected = s[name] / (1 - beta2**t)
            new[name] = _frozen(
                arrays[name] - alpha * v_corrected / (np.sqrt(s_corrected) + self.epsilon)
            )
        return new, {"t": t, "v": v, "s": s}


OPTIMIZERS = {"gd": GradientDescent, "momentum": Momentum, "rmsprop": RMSprop, "adam": Adam}
"""The optimizers by the names ``train(optimizer=...)`` takes."""


def make_optimizer(
    optimizer: Any,
    learning_rate: float,
    *,
    beta: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
    where: str = "make_optimizer",
) -> Any:
    """The optimizer named ``optimizer`` (a key of ``OPTIMIZERS``) with these settings.

    An object with ``init`` and ``update`` methods is returned as it is. Momentum takes
    ``beta``; RMSprop takes ``beta2`` as its β (the squared average's, as in Adam) and
    ``epsilon``; Adam takes ``beta1``, ``beta2`` and ``epsilon``.

    Raises:
        ValueError: an unknown name, or a setting out of range.

    Example:
        >>> from compgraph.models.optimizers import make_optimizer
        >>> make_optimizer("momentum", 0.1, beta=0.8)
        Momentum(learning_rate=0.1, beta=0.8)
    """
    if not isinstance(optimizer, str):
        if callable(getattr(optimizer, "init", None)) and callable(
            getattr(optimizer, "update", None)
        ):
            return optimizer
        raise TypeError(
            f"{where}: optimizer must be one of {', '.join(map(repr, OPTIMIZERS))} or an object "
            f"with init(parameters) and update(parameters, gradients, state) methods, got "
            f"{type(optimizer).__name__}"
        )
    if optimizer == "gd":
        return GradientDescent(learning_rate)
    if optimizer == "momentum":
        return Momentum(learning_rate, beta)
    if optimizer == "rmsprop":
        return RMSprop(learning_rate, beta2, epsilon)
    if optimizer == "adam":
        return Adam(learning_rate, beta1, beta2, epsilon)
    raise ValueError(
        f"{where}: optimizer must be one of {', '.join(map(repr, OPTIMIZERS))}, got {optimizer!r}"
    )


def update_lr(learning_rate0: float, epoch_num: int, decay_rate: float) -> float:
    """The course's learning-rate decay: α = α₀ / (1 + decay_rate · epoch_num).

    Example:
        >>> from compgraph.models.optimizers import update_lr
        >>> update_lr(0.5, 2, 1.0)
        0.16666666666666666
    """
    _positive(learning_rate0, "learning_rate0", "update_lr")
    _non_negative(decay_rate, "decay_rate", "update_lr")
    # Written as the course computes it, 1/(1 + decay·epoch) · α₀, for the same last bits.
    return 1 / (1 + decay_rate * epoch_num) * learning_rate0


def schedule_lr_decay(
    learning_rate0: float, epoch_num: int, decay_rate: float, time_interval: int = 1000
) -> float:
    """The course's decay at fixed intervals: α = α₀ / (1 + decay_rate · ⌊epoch_num / interval⌋).

    ``interval`` is ``time_interval``, the epochs between two decays.

    Example:
        >>> from compgraph.models.optimizers import schedule_lr_decay
        >>> [schedule_lr_decay(0.5, epoch, 1.0, time_interval=10) for epoch in (0, 9, 10, 25)]
        [0.5, 0.5, 0.25, 0.16666666666666666]
    """
    _positive(learning_rate0, "learning_rate0", "schedule_lr_decay")
    _non_negative(decay_rate, "decay_rate", "schedule_lr_decay")
    if (
        isinstance(time_interval, bool)
        or not isinstance(time_interval, numbers.Integral)
        or time_interval < 1
    ):
        raise ValueError(
            f"schedule_lr_decay: time_interval must be a positive integer (epochs between "
            f"decays), got {time_interval!r}"
        )
    return 1 / (1 + decay_rate * math.floor(epoch_num / time_interval)) * learning_rate0


# -- checks shared by the optimizers -------------------------------------------------------------


def _frozen(array: Any) -> np.ndarray:
    # Read-only: the optimizer's results may be shared by the caller and the state. Every
    # array given here is new (the result of arithmetic), so freezing it touches nobody's.
    result = np.asarray(array, dtype=np.float64)
    result.flags.writeable = False
    return result


def _zeros_like(arrays: Mapping[Any, np.ndarray]) -> Arrays:
    return {name: _frozen(np.zeros_like(value)) for name, value in arrays.items()}


def _as_array(value: Any) -> np.ndarray:
    if type(value) is np.ndarray and value.dtype == np.float64:
        return value  # the common case, kept cheap: the loop calls this every step
    return np.asarray(getattr(value, "value", value), dtype=np.float64)  # a Node's value


def _arrays(parameters: Any, where: str) -> Arrays:
    if not isinstance(parameters, Mapping) or not parameters:
        raise TypeError(
            f"{where}: parameters must be a non-empty dict of name -> array, got "
            f"{type(parameters).__name__}"
        )
    return {name: _as_array(value) for name, value in parameters.items()}


def _pairs(parameters: Any, gradients: Any, where: str) -> tuple[Arrays, Arrays]:
    """The parameters as arrays, and each one's gradient (named like it, or d<name>)."""
    arrays = _arrays(parameters, where)
    if not isinstance(gradients, Mapping):
        raise TypeError(
            f"{where}: gradients must be a dict of name -> array, got {type(gradients).__name__}"
        )
    grads = {}
    for name, value in arrays.items():
        gradient = gradients.get(name)
        if gradient is None and isinstance(name, str):
            gradient = gradients.get(f"d{name}")
        if gradient is None:
            raise ValueError(
                f"{where}: gradients has no {name!r} (nor 'd{name}'); give one gradient per "
                f"parameter ({', '.join(map(repr, arrays))})"
            )
        gradient = _as_array(gradient)
        if gradient.shape != value.shape:
            raise ShapeError(
                f"{where}: the gradient of {name!r} has shape {gradient.shape} but the "
                f"parameter has shape {value.shape}; each gradient must have its parameter's shape"
            )
        grads[name] = gradient
    return arrays, grads


def _slot(state: Any, key: str, arrays: Arrays, where: str) -> Arrays:
    slot = state.get(key) if isinstance(state, Mapping) else None
    if not isinstance(slot, Mapping) or set(slot) != set(arrays):
        raise ValueError(
            f"{where}: state[{key!r}] must hold one array per parameter; make the state with "
            "init(parameters) and pass on the state update returned"
        )
    return {name: np.asarray(slot[name]) for name in arrays}


def _number(value: Any, name: str, where: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(float(value))
    ):
        raise ValueError(f"{where}: {name} must be a finite number, got {value!r}")
    return float(value)


def _positive(value: Any, name: str, where: str) -> float:
    number = _number(value, name, where)
    if number <= 0:
        raise ValueError(f"{where}: {name} must be a positive finite number, got {value!r}")
    return number


def _non_negative(value: Any, name: str, where: str) -> float:
    number = _number(value, name, where)
    if number < 0:
        raise ValueError(f"{where}: {name} must be a non-negative finite number, got {value!r}")
    return number


def _fraction(value: Any, name: str, where: str) -> float:
    number = _number(value, name, where)
    if not 0 <= number < 1:
        raise ValueError(f"{where}: {name} must be in [0, 1), got {value!r}")
    return number
