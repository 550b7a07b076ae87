"""The scikit-learn estimator protocol for compgraph's two-class classifiers.

``BinaryClassifier`` holds everything a two-class estimator shares, whatever its model:
``get_params``/``set_params`` (so ``clone``, pipelines and grid search work), ``__repr__``,
``__sklearn_tags__``, checks of ``X`` and ``y``, the encoding of any two labels to {0, 1}
with ``classes_``, ``predict`` mapping back to those labels, ``predict_proba``, ``score``
and the fitted checks. scikit-learn is never imported here except inside
``__sklearn_tags__``, which only scikit-learn calls: compgraph works without it.

A subclass (``compgraph.models.logistic.LogisticRegression``) writes three things:

- ``__init__`` taking every hyper-parameter as a keyword with a default and storing it
  unchanged under the same name (scikit-learn's rule: no checks or conversions there; they
  belong in the fit hook, so ``set_params`` and ``clone`` see exactly what was given);
- ``_fit_encoded(self, X, y)``: learn from checked samples ``X`` (float64, shape
  (n_samples, n_features), finite) and labels ``y`` (float64, shape (n_samples,), 0.0 for
  ``classes_[0]`` and 1.0 for ``classes_[1]``); check the hyper-parameters first; set the
  learned attributes (names ending in ``_``) and return nothing;
- ``_positive_probability(self, X)``: P(y = classes_[1] | x) for checked samples of a
  fitted model, a float64 array of shape (n_samples,).

A subclass whose ``_fit_encoded`` also takes a Dask array ``X`` (read lazily, by compiled
steps; its values are not checked up front) says so with ``fits_dask = True``. Predicting
on a Dask ``X`` needs nothing: each row chunk is predicted by the NumPy methods, lazily.

Anything else is optional: more methods (``decision_function``), or a
``__sklearn_tags__`` that calls ``super().__sklearn_tags__()`` and changes a tag (say
``non_deterministic`` for a model with random initialisation and no seed).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import math
import numbers
import sys
import warnings
from collections.abc import Iterator
from typing import Any, TypeVar

import numpy as np
from numpy.typing import ArrayLike

from compgraph.errors import (
    ConvergenceWarning,
    DataConversionWarning,
    DataError,
    DTypeError,
    NonFiniteError,
    NotFittedError,
    ShapeError,
)
from compgraph.models import distributed
from compgraph.node import Node
from compgraph.numerics import describe_nonfinite, errstate

__all__ = [
    "BinaryClassifier",
    "TrainingWatch",
    "check_binary_labels",
    "check_positive_int",
    "check_samples",
    "finite_real_array",
    "scikit_learn_flavoured",
]


def check_samples(X: Any, where: str) -> np.ndarray:
    """``X`` as a finite float64 array of shape (n_samples, n_features), or a clear error.

    Lists, integers, booleans and object arrays of numbers are converted (without a copy
    when ``X`` already is float64). Masked arrays and sparse matrices are refused rather
    than silently read without their mask or densified.

    Args:
        X: the samples, one per row.
        where: the caller's name, for the messages (e.g. ``"LogisticRegression.fit"``).

    Returns:
        The samples as a float64 NumPy array.

    Raises:
        DTypeError: sparse or masked input, or entries that are not real numbers.
        DataError: NaN, inf or complex entries.
        ShapeError: ``X`` is not 2-D, or has no sample or no feature.

    Example:
        >>> from compgraph.models.estimators import check_samples
        >>> check_samples([[1, 2], [3, 4]], "fit").dtype
        dtype('float64')
    """
    samples = finite_real_array(X, "X", where)
    if samples.ndim != 2:
        fix = (
            ". Reshape your data with X.reshape(-1, 1) if it has a single feature, or "
            "X.reshape(1, -1) if it is a single sample"
            if samples.ndim <= 1
            else ""
        )
        raise ShapeError(
            f"{where}: X must be a 2-D array (n_samples, n_features), "
            f"got shape {samples.shape}{fix}"
        )
    if samples.shape[0] == 0:
        raise ShapeError(
            f"{where}: X has 0 sample(s) (shape={samples.shape}) while a minimum of 1 is required."
        )
    if samples.shape[1] == 0:
        raise ShapeError(
            f"{where}: X has 0 feature(s) (shape={samples.shape}) while a minimum of 1 is required."
        )
    return samples


def check_binary_labels(labels: np.ndarray, name: str, where: str) -> None:
    """Raise ``DataError`` unless ``labels`` holds only 0 and 1, naming what else it holds."""
    wrong = labels[(labels != 0) & (labels != 1)]
    if wrong.size:
        found = ", ".join(f"{v:g}" for v in np.unique(wrong)[:5])
        raise DataError(
            f"{where}: {name} must hold the labels 0 and 1 only, found {found}; "
            f"map the two classes to 1 (positive) and 0 first, e.g. {name} == positive_class"
        )


def check_positive_int(value: Any, name: str, where: str) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer of at least 1 (bools refused)."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")


def finite_real_array(value: Any, name: str, where: str) -> np.ndarray:
    """``value`` as a float64 array of finite numbers, for the models' data and parameters.

    Refuses, with a message naming ``where`` and ``name``: Nodes (pass ``.value``), masked
    arrays (the mask would be lost), sparse matrices, ragged lists, complex and text values,
    and NaN or inf. Not copied when it already is a float64 array.
    """
    if isinstance(value, Node):
        raise DTypeError(f"{where}: {name} is a Node; pass its array ({name}.value)")
    if isinstance(value, np.ma.MaskedArray):
        raise DTypeError(
            f"{where}: {name} is a NumPy masked array, and its mask would be ignored; fill "
            f"the masked entries ({name}.filled(value)) or drop those samples first"
        )
    if _is_sparse(value):
        raise DTypeError(
            f"{where}: {name} is a sparse matrix ({type(value).__name__}), and sparse input "
            f"is not supported; call {name}.toarray() to pass a dense array"
        )
    try:
        array = np.asarray(value)
    except ValueError:
        raise DTypeError(
            f"{where}: {name} is not a rectangular array; give every row the same length"
        ) from None
    if array.dtype.kind == "O":
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise DTypeError(
                f"{where}: {name} has dtype object and an entry that is not a number ({error})"
            ) from None
    _check_real_dtype(array.dtype, name, where)
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        raise DataError(
            f"{where}: {name} of shape {array.shape} contains NaN or inf "
            f"({describe_nonfinite(array)}); drop or fill in the missing values first"
        )
    return array


def _check_real_dtype(dtype: Any, name: str, where: str) -> None:
    """Refuse complex and non-numeric dtypes, in memory and on Dask alike."""
    if dtype.kind == "c":
        raise DataError(
            f"{where}: {name} holds complex numbers. Complex data not supported; pass the "
            f"real part ({name}.real) or the modulus (abs({name})) if that is what you mean"
        )
    if dtype.kind not in "biuf":
        raise DTypeError(f"{where}: {name} has dtype {dtype}; it must hold real numbers")


def _dask_samples(X: Any, where: str, fitting: bool) -> Any:
    """A Dask X checked without reading it: 2-D, floats or integers, some samples and
    features (its values are checked when they are read). Fitting needs the number of
    samples (one label each); predicting, chunk by chunk, only the number of features."""
    if X.ndim != 2 or 0 in X.shape:
        raise ShapeError(
            f"{where}: a Dask X must be a non-empty 2-D array of numbers (n_samples, "
            f"n_features), got shape {X.shape} of {X.dtype}"
        )
    _check_real_dtype(X.dtype, "X", where)
    distributed.check_known_shape(X, where, axes=(0, 1) if fitting else (1,))
    return X if X.dtype == np.float64 else X.astype(np.float64)


def _is_sparse(value: Any) -> bool:
    # By its module rather than scipy.sparse.issparse: importing scipy only to say no would
    # make every fit pay for it.
    return type(value).__module__.startswith("scipy.sparse")


def _encode_labels(y: Any, n_samples: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(classes_, y as 0.0/1.0): the two distinct labels sorted, and each label's index."""
    if y is None:
        raise DataError(
            f"{where}: requires y to be passed, but the target y is None; give one label per sample"
        )
    if isinstance(y, np.ma.MaskedArray):
        raise DTypeError(
            f"{where}: y is a NumPy masked array, and its mask would be ignored; drop the "
            f"samples whose label is masked first"
        )
    if _is_sparse(y):
        raise DTypeError(f"{where}: y is a sparse matrix; pass a 1-D array of labels")
    labels = np.asarray(y)
    if labels.shape == (n_samples, 1):
        # scikit-learn's convention: a column vector is flattened, with a warning.
        warnings.warn(
            f"A column-vector y was passed when a 1d array was expected. {where} took it as "
            f"y.ravel(), of shape ({n_samples},); pass that to silence this warning",
            scikit_learn_flavoured(DataConversionWarning),
            stacklevel=3,
        )
        labels = labels.ravel()
    if labels.shape != (n_samples,):
        fix = "; flatten it with y.ravel()" if labels.size == n_samples else ""
        raise ShapeError(
            f"{where}: y has shape {labels.shape} but X has {n_samples} samples, so y must "
            f"have shape (n_samples,) = ({n_samples},){fix}"
        )
    if labels.dtype.kind == "O":
        missing = np.flatnonzero([_is_missing(label) for label in labels])
        if missing.size:
            raise DataError(
                f"{where}: Input y contains missing labels (None or NaN): {missing.size} of "
                f"{n_samples}, the first at index {missing[0]}; every sample needs a class "
                f"label: drop those samples or fill in their labels"
            )
    if labels.dtype.kind == "c":
        raise DataError(f"{where}: y holds complex numbers, which are not class labels")
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all():
            kind = "NaN" if np.isnan(labels).any() else "infinity"
            raise DataError(f"{where}: Input y contains {kind}; every sample needs a class label")
        if (labels != np.round(labels)).any():
            example = labels[labels != np.round(labels)][0]
            raise DataError(
                f"{where}: Unknown label type: y holds continuous values (e.g. {example:g}); "
                f"a classifier needs class labels, such as 0 and 1 or two strings"
            )
    try:
        classes, encoded = np.unique(labels, return_inverse=True)
    except TypeError:
        raise DTypeError(
            f"{where}: the labels in y cannot be sorted (mixed types such as numbers and "
            f"strings?); use labels of one type"
        ) from None
    if classes.size < 2:
        raise DataError(
            f"{where}: y holds only one class ({classes.tolist()[0]!r}); a classifier needs "
            f"samples of two classes to learn from"
        )
    if classes.size > 2:
        shown = ", ".join(repr(c) for c in classes[:5].tolist())
        raise DataError(
            f"{where}: Only binary classification is supported, and y holds {classes.size} "
            f"classes ({shown}{', ...' if classes.size > 5 else ''}); map them to two first"
        )
    return classes, encoded.reshape(n_samples).astype(np.float64)


class TrainingWatch:
    """Watches an estimator's gradient-based training, as the loop's ``stop`` hook.

    It counts the steps, keeps every step's cost, and:

    - ``running()``: the run's first inf or NaN (a step too large for the data) ends it
      with one ``NonFiniteError`` naming the learning rate and what to change, instead of
      a warning per step and NaN parameters;
    - with ``tol`` (not None), stops the run once the cost has not fallen by more than
      ``tol`` below its best for ``n_iter_no_change`` steps in a row (scikit-learn's
      ``MLPClassifier`` rule): ``should_stop`` says so, the loop ends at that step with its
      parameters, and ``stopped`` is True (that step's cost is the last in ``costs``);
    - ``warn_if_diverged()``: one ``ConvergenceWarning`` when the cost ended above where it
      started (by more than 1 %).

    Example:
        >>> from compgraph.models.estimators import TrainingWatch
        >>> from compgraph.models.networks import train
        >>> watch = TrainingWatch("fit", 0.1, 100, tol=0.01, n_iter_no_change=2)
        >>> [watch.should_stop(step, c) for step, c in enumerate([1.0, 0.5, 0.499, 0.498])]
        [False, False, False, True]
        >>> X, Y = [[0.0, 1e4, 2e4, 3e4]], [[0, 1, 0, 1]]
        >>> watch = TrainingWatch("fit", learning_rate=1e305, num_iterations=50)
        >>> try:
        ...     with watch.running():
        ...         train(X, Y, [1, 1], 1e305, 50)
        ... except Exception as error:
        ...     print(type(error).__name__, str(error).split(": with")[0])
        NonFiniteError fit: gradient descent diverged at step 1 of 50
    """

    def __init__(
        self,
        where: str,
        learning_rate: float,
        num_iterations: int,
        tol: float | None = None,
        n_iter_no_change: int = 10,
        advice: str = "",
    ) -> None:
        self.where = where
        self.advice = advice
        self.learning_rate = learning_rate
        self.num_iterations = num_iterations
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.costs: list[float] = []
        self.stopped = False
        self._best = math.inf
        self._no_change = 0

    def should_stop(self, step: int, cost: float) -> bool:
        """Called by the loop with each step's cost, after its gradients and before its
        update: True ends the run there (``run_training``'s ``stop``)."""
        cost = float(cost)
        self.costs.append(cost)
        if self.tol is None:
            return False
        if cost > self._best - self.tol:
            self._no_change += 1
        else:
            self._no_change = 0
        self._best = min(self._best, cost)
        self.stopped = self._no_change >= self.n_iter_no_change
        return self.stopped

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """The block that runs the loop: inf or NaN is an error, an early stop is not."""
        try:
            # NumPy's own overflow warnings would report the same event a second time.
            with errstate(nonfinite="raise"), np.errstate(all="ignore"):
                yield
        except NonFiniteError:
            raise NonFiniteError(
                f"{self.where}: gradient descent diverged at step {len(self.costs) + 1} of "
                f"{self.num_iterations}: with learning_rate={self.learning_rate:g} the "
                f"parameters or the cost became inf or NaN; {self._fix}"
            ) from None

    def warn_if_diverged(self) -> None:
        """One ``ConvergenceWarning`` if the cost ended above its first value (by over 1 %,
        more than a plateau's rounding)."""
        if len(self.costs) > 1 and self.costs[-1] > 1.01 * self.costs[0]:
            warnings.warn(
                f"{self.where}: gradient descent diverged: the cost rose from "
                f"{self.costs[0]:.3g} to {self.costs[-1]:.3g} with learning_rate="
                f"{self.learning_rate:g}; {self._fix}",
                scikit_learn_flavoured(ConvergenceWarning),
                stacklevel=4,
            )

    @property
    def _fix(self) -> str:
        return (
            "scale the features (e.g. with sklearn.preprocessing.StandardScaler) or pass a "
            f"smaller learning_rate{self.advice}"
        )


def _is_missing(label: Any) -> bool:
    """None, a NaN, or pandas' NA and NaT: what an object array of labels holds for none."""
    if label is None or type(label).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(label, numbers.Real) and math.isnan(label)


class BinaryClassifier:
    """Base class of compgraph's two-class classifiers, in scikit-learn's estimator protocol.

    ``y`` may hold any two labels (``{"cat", "non-cat"}``, ``{-1, 1}``, booleans):
    ``classes_`` holds them sorted, the model learns P(y = ``classes_[1]``), and ``predict``
    returns the labels themselves. One class, more than two, or continuous values are
    errors. The subclass contract (``__init__``, ``_fit_encoded``,
    ``_positive_probability``) is in this module's docstring.

    Attributes (after ``fit``):
        classes_: the two labels, sorted.
        n_features_in_: the number of features seen by ``fit``.
        feature_names_in_: the column names of a DataFrame given to ``fit`` (then
            ``predict`` and the others insist on the same columns in the same order).

    Example:
        A classifier that predicts the class whose mean is nearer, written to the contract:

        >>> import numpy as np
        >>> from compgraph.models.estimators import BinaryClassifier
        >>> class NearestMean(BinaryClassifier):
        ...     def __init__(self, sharpness=1.0):
        ...         self.sharpness = sharpness
        ...     def _fit_encoded(self, X, y):
        ...         self.means_ = np.stack([X[y == 0].mean(axis=0), X[y == 1].mean(axis=0)])
        ...     def _positive_probability(self, X):
        ...         d = ((X[:, None, :] - self.means_) ** 2).sum(axis=2)
        ...         return 1 / (1 + np.exp(self.sharpness * (d[:, 1] - d[:, 0])))
        >>> model = NearestMean(sharpness=2.0).fit([[0.0], [1.0], [9.0]], ["lo", "lo", "hi"])
        >>> model, model.classes_.tolist(), model.predict([[0.5], [8.0]]).tolist()
        (NearestMean(sharpness=2.0), ['hi', 'lo'], ['lo', 'hi'])
    """

    #: Whether ``_fit_encoded`` takes a Dask array X (see the module's docstring).
    fits_dask = False

    def _fit_encoded(self, X: np.ndarray, y: np.ndarray) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _fit_encoded")

    def _positive_probability(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not implement _positive_probability")

    # -- hyper-parameters ---------------------------------------------------------------------

    @classmethod
    def _parameter_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        names = []
        for parameter in list(signature.parameters.values())[1:]:
            if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                raise TypeError(
                    f"{cls.__name__}.__init__ takes *args or **kwargs; an estimator must name "
                    f"every hyper-parameter so get_params and clone can find it"
                )
            names.append(parameter.name)
        return names

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments by name, as ``clone`` and grid search read them.

        Args:
            deep: also list the parameters of arguments that are estimators themselves,
                as ``name__parameter`` (scikit-learn's convention).

        Returns:
            A dict from each ``__init__`` argument's name to its current value.
        """
        params: dict[str, Any] = {}
        for name in self._parameter_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params: Any) -> BinaryClassifier:
        """Change constructor arguments, e.g. ``set_params(learning_rate=0.1)``; returns self.

        Raises:
            ValueError: a name that is not an argument of the constructor.
        """
        valid = self._parameter_names()
        # Every name is checked before any is set, so a typo changes nothing.
        for name in params:
            outer = name.partition("__")[0]
            if outer not in valid:
                raise ValueError(
                    f"{type(self).__name__}.set_params: {type(self).__name__} has no "
                    f"parameter {outer!r}; valid ones: {', '.join(valid)}"
                )
        for name, value in params.items():
            outer, _, inner = name.partition("__")
            if inner:
                getattr(self, outer).set_params(**{inner: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        changed = [
            f"{name}={value!r}"
            for name, value in self.get_params(deep=False).items()
            if not _same(value, defaults.get(name, inspect.Parameter.empty))
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self) -> Any:
        """scikit-learn's description of this estimator (only scikit-learn calls this)."""
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier",
            target_tags=TargetTags(required=True),
            classifier_tags=ClassifierTags(multi_class=False),
            input_tags=InputTags(two_d_array=True, sparse=False, allow_nan=False),
        )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "classes_")

    # -- fitting and predicting -----------------------------------------------------------

    def fit(self, X: ArrayLike, y: ArrayLike) -> BinaryClassifier:
        """Learn from samples ``X`` (n_samples, n_features) and their labels ``y`` (n_samples,).

        Raises:
            ShapeError: ``X`` is not 2-D or is empty, or ``y`` is not one label per row.
            DataError: NaN or inf in ``X`` or ``y``; ``y`` with one class, more than two,
                or continuous values.
            DTypeError: sparse, masked or non-numeric ``X``.
            ValueError: a hyper-parameter out of range.
        """
        where = f"{type(self).__name__}.fit"
        if distributed.is_dask_array(X):
            if not self.fits_dask:
                raise TypeError(
                    f"{where} cannot fit a Dask X: it learns from arrays in memory; pass "
                    f"X.compute() if it fits, or use an estimator that fits out of core "
                    f"(LogisticRegression, NetworkClassifier)"
                )
            names, samples = None, _dask_samples(X, where, fitting=True)
            if distributed.is_dask_array(y):  # one label per sample: checked in memory
                y = y.compute()  # type: ignore[union-attr]
        else:
            names = _feature_names(X, where)
            samples = check_samples(X, where)
        classes, encoded = _encode_labels(y, samples.shape[0], where)
        self._fit_encoded(samples, encoded)
        self.classes_ = classes
        self.n_features_in_ = samples.shape[1]
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_  # from an earlier fit on a DataFrame
        return self

    def predict_proba(self, X: ArrayLike) -> np.ndarray:
        """Probabilities of ``classes_[0]`` and ``classes_[1]`` per sample, shape (n_samples, 2).

        On a Dask ``X``, a lazy Dask array: each chunk of rows is predicted in memory.
        """
        if distributed.is_dask_array(X):
            lazy: np.ndarray = self._by_row_chunks(X, "predict_proba", np.float64, columns=2)
            return lazy
        p = self._positive_probability(self._check_fitted_samples(X, "predict_proba"))
        return np.stack([1 - p, p], axis=1)

    def predict(self, X: ArrayLike) -> np.ndarray:
        """The predicted label of each sample, shape (n_samples,).

        ``classes_[1]`` where its probability is above 0.5, else ``classes_[0]``. On a Dask
        ``X``, a lazy Dask array: each chunk of rows is predicted in memory.
        """
        if distributed.is_dask_array(X):
            labels: np.ndarray = self._by_row_chunks(X, "predict", dtype=None)
            return labels
        p = self._positive_probability(self._check_fitted_samples(X, "predict"))
        return self.classes_[(p > 0.5).astype(np.intp)]

    def score(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> float:
        """Accuracy: the (weighted) fraction of samples whose predicted label equals ``y``.

        Raises:
            ShapeError: ``y`` (or ``sample_weight``) is not one value per sample of ``X``.
        """
        predicted = self.predict(X)
        if distributed.is_dask_array(predicted):  # one label per sample: compared in memory
            predicted = predicted.compute()  # type: ignore[attr-defined]
        where = f"{type(self).__name__}.score"
        truth = np.asarray(y.compute() if distributed.is_dask_array(y) else y)  # type: ignore[union-attr]
        if truth.shape != predicted.shape:
            raise ShapeError(
                f"{where}: y has shape {truth.shape} but X has {predicted.shape[0]} samples; "
                f"y must have shape {predicted.shape}"
            )
        weights = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        if weights is not None and weights.shape != predicted.shape:
            raise ShapeError(
                f"{where}: sample_weight has shape {weights.shape}; it must have shape "
                f"{predicted.shape}, one weight per sample"
            )
        return float(np.average(predicted == truth, weights=weights))

    def _by_row_chunks(self, X: Any, method: str, dtype: Any, columns: int | None = None) -> Any:
        """``method`` of a fitted model on a Dask X, lazily: the NumPy method on each chunk
        of rows (holding every feature), so X is never held whole. ``dtype`` None: the
        labels' (``classes_``'s, known once the fit is checked)."""
        where = f"{type(self).__name__}.{method}"
        if not self.__sklearn_is_fitted__():
            raise scikit_learn_flavoured(NotFittedError)(
                f"{where}: this {type(self).__name__} is not fitted; call fit first"
            )
        if dtype is None:
            dtype = self.classes_.dtype
        rows = _dask_samples(X, where, fitting=False)
        if rows.shape[1] != self.n_features_in_:
            raise ShapeError(
                f"{where}: X has {rows.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input"
            )
        if rows.numblocks[1] > 1:  # a chunk must hold whole samples
            rows = rows.rechunk({1: -1})
        # A frozen copy (kilobytes): the tasks predict with this fit's parameters even if
        # the model is fitted again before they are computed.
        function = getattr(copy.deepcopy(self), method)
        if columns is None:
            return rows.map_blocks(function, drop_axis=1, dtype=dtype)
        return rows.map_blocks(function, chunks=(rows.chunks[0], (columns,)), dtype=dtype)

    def _check_fitted_samples(self, X: Any, method: str) -> np.ndarray:
        where = f"{type(self).__name__}.{method}"
        if not self.__sklearn_is_fitted__():
            raise scikit_learn_flavoured(NotFittedError)(
                f"{where}: this {type(self).__name__} is not fitted; call fit first"
            )
        self._check_fitted_values(where)
        self._check_feature_names(_feature_names(X, where), where)
        samples = check_samples(X, where)
        if samples.shape[1] != self.n_features_in_:
            raise ShapeError(
                f"{where}: X has {samples.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input; X must have shape "
                f"(n_samples, {self.n_features_in_}), like the X given to fit"
            )
        return samples

    def _check_fitted_values(self, where: str) -> None:
        """Refuse to predict from fitted arrays (``coef_``, ``parameters_[...]``) holding inf
        or NaN, naming them: the data are checked too, and would otherwise be blamed."""
        for name, value in vars(self).items():
            if not name.endswith("_") or name.startswith("_"):
                continue
            arrays = value.items() if isinstance(value, dict) else [(None, value)]
            for key, array in arrays:
                if not isinstance(array, np.ndarray) or array.dtype.kind not in "fc":
                    continue
                if not np.isfinite(array).all():
                    label = name if key is None else f"{name}[{key!r}]"
                    raise NonFiniteError(
                        f"{where}: the fitted {label} hold inf or NaN "
                        f"({describe_nonfinite(array)}), so this {type(self).__name__} "
                        f"cannot predict; they come from a fit that diverged or were set by "
                        f"hand: fit again (with scaled features or a smaller learning_rate)"
                    )

    def _check_feature_names(self, names: np.ndarray | None, where: str) -> None:
        """Columns must come by the names and in the order ``fit`` saw: NumPy would
        silently multiply a reordered DataFrame's columns by the wrong weights."""
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is None or names is None:
            if (fitted is None) != (names is None):
                had, has = ("", "no ") if names is None else ("no ", "")
                warnings.warn(
                    f"{where}: X has {has}feature names, but {type(self).__name__} was "
                    f"fitted with {had}feature names; columns are taken by position",
                    UserWarning,
                    stacklevel=4,
                )
            return
        if names.shape == fitted.shape and (names == fitted).all():
            return
        unseen = sorted(set(names) - set(fitted))
        missing = sorted(set(fitted) - set(names))
        message = "The feature names should match those that were passed during fit.\n"
        if unseen:
            message += "Feature names unseen at fit time:\n" + _name_list(unseen)
        if missing:
            message += "Feature names seen at fit time, yet now missing:\n" + _name_list(missing)
        if not unseen and not missing:
            message += "Feature names must be in the same order as they were in fit.\n"
        raise ShapeError(f"{where}: {message}Select them in that order: X[model.feature_names_in_]")


def _feature_names(X: Any, where: str) -> np.ndarray | None:
    """A DataFrame's column names as an object array, or None without string names."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(list(columns), dtype=object)
    strings = [isinstance(name, str) for name in names]
    if all(strings) and names.size:
        return names
    if any(strings):
        kinds = sorted({type(name).__name__ for name in names})
        raise DTypeError(
            f"{where}: X's column names mix strings with other types ({', '.join(kinds)}); "
            f"feature names must all be strings: X.columns = X.columns.astype(str)"
        )
    return None


def _name_list(names: list[str], shown: int = 5) -> str:
    lines = [f"- {name}\n" for name in names[:shown]]
    return "".join(lines) + ("- ...\n" if len(names) > shown else "")


_Kind = TypeVar("_Kind", bound=BaseException)


def scikit_learn_flavoured(ours: type[_Kind]) -> type[_Kind]:
    """compgraph's exception or warning class ``ours``, and scikit-learn's of the same name
    as well once scikit-learn is in use.

    Code that catches or filters ``sklearn.exceptions.NotFittedError``,
    ``ConvergenceWarning`` or ``DataConversionWarning`` (scikit-learn's checks and tools do)
    has imported that module, so looking in ``sys.modules`` decides exactly when the second
    base matters, without importing scikit-learn for everyone else.

    Example:
        >>> import compgraph as cg
        >>> from compgraph.models.estimators import scikit_learn_flavoured
        >>> issubclass(scikit_learn_flavoured(cg.ConvergenceWarning), cg.ConvergenceWarning)
        True
    """
    exceptions = sys.modules.get("sklearn.exceptions")
    theirs = getattr(exceptions, ours.__name__, None)
    if theirs is None:
        return ours
    return _both(ours, theirs)


#: The classes made by ``_both``, so each pair gives one class (``except`` and filters
#: compare classes).
_BOTH: dict[tuple[type, type], type] = {}


def _both(ours: type[_Kind], theirs: type) -> type[_Kind]:
    both = _BOTH.get((ours, theirs))
    if both is None:
        both = _BOTH[ours, theirs] = type(
            ours.__name__,
            (ours, theirs),
            {
                "__module__": __name__,
                "__doc__": f"compgraph's {ours.__name__}, scikit-learn's too.",
                # Made at run time, so pickle (joblib's workers) cannot find it by name.
                "__reduce__": lambda self: (_flavoured_instance, (ours, self.args)),
            },
        )
    return both


def _flavoured_instance(ours: type[_Kind], args: tuple[Any, ...]) -> _Kind:
    return scikit_learn_flavoured(ours)(*args)


def _same(value: Any, default: Any) -> bool:
    """Whether a parameter still holds its default, for ``__repr__`` (arrays compare False)."""
    if value is default:
        return True
    if type(value) is not type(default) or not isinstance(
        value, numbers.Number | str | tuple | type(None)
    ):
        return False
    try:
        return bool(value == default)
    except (TypeError, ValueError):
        return False
