"""compgraph's classifiers as scikit-learn estimators: scikit-learn's own checks, then the
workflows people use (pipelines, cross-validation, grid search, clone, pickle), any two labels
and the input checks of the shared base class."""

import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import NotFittedError as ScikitLearnNotFittedError
from sklearn.utils.estimator_checks import estimator_checks_generator, parametrize_with_checks

import compgraph as cg
from compgraph.models.estimators import BinaryClassifier
from compgraph.models.logistic import LogisticRegression
from compgraph.models.networks import NetworkClassifier

#: Every compgraph classifier, with its defaults: they must pass scikit-learn's checks out of
#: the box, quickly (issue 25). A new estimator is one more line here.
ESTIMATORS = [LogisticRegression(), NetworkClassifier()]

# No expected failures: compgraph follows scikit-learn's conventions where its checks test
# them. (pyproject.toml silences scikit-learn's warning that these do not inherit from its
# BaseEstimator: by design, so that compgraph needs no scikit-learn. These checks are what
# proves the protocol instead.)
checks = parametrize_with_checks(ESTIMATORS)


@checks
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.slow  # a second pytest process: 4-13 s
def test_array_api_dispatch_changes_nothing():
    """scikit-learn skips its array-API check unless SCIPY_ARRAY_API=1 was set before SciPy
    was first imported, so here it runs in a fresh process that sets it."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", __file__,
         "-k", "check_array_api_input"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "SCIPY_ARRAY_API": "1"},
    )  # fmt: skip
    generated = {
        getattr(check, "func", check).__name__
        for estimator in ESTIMATORS
        for _, check in estimator_checks_generator(estimator)
    }
    if "check_array_api_input" not in generated:  # older scikit-learn: not for us
        assert result.returncode == 5, result.stdout[-3000:]  # pytest: nothing selected
        return
    assert result.returncode == 0, result.stdout[-3000:]
    assert re.search(r"\b[1-9]\d* passed", result.stdout) and "skipped" not in result.stdout


def test_every_estimator_is_a_binary_classifier_to_scikit_learn():
    for estimator in ESTIMATORS:
        assert isinstance(estimator, BinaryClassifier)
        assert is_classifier(estimator)


# -- the workflows ------------------------------------------------------------------------------


def blobs(n_samples=80, seed=0):
    """Two overlapping Gaussian clouds in 3 features, labels 0 and 1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % 2
    X = rng.normal(size=(n_samples, 3)) + 1.5 * y[:, None] + [0.0, 10.0, -5.0]
    return X * [1.0, 50.0, 0.1], y


def test_a_pipeline_fits_predicts_and_scores():
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = blobs()
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(learning_rate=0.5))
    pipeline.fit(X, y)
    assert pipeline.predict(X).shape == (80,)
    assert pipeline.score(X, y) > 0.8
    model = pipeline[-1]
    assert model.n_features_in_ == 3 and model.classes_.tolist() == [0, 1]


def test_cross_val_score_gives_real_accuracies():
    from sklearn.model_selection import cross_val_score

    X, y = blobs()
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    scores = cross_val_score(LogisticRegression(learning_rate=0.5, num_iterations=200), X, y)
    assert scores.shape == (5,) and np.isfinite(scores).all()
    assert 0.6 < scores.mean() <= 1.0


def test_grid_search_picks_the_learning_rate_that_learns():
    from sklearn.model_selection import GridSearchCV

    # One positive feature, classes at x ≈ 2 and 3.5: from w = b = 0 a tiny step makes
    # z = wx > 0 everywhere (accuracy 0.5) while a real one learns the threshold. A search
    # that ignored the parameter would pick the first candidate, as the first of a tie.
    rng = np.random.default_rng(0)
    y = np.arange(80) % 2
    X = (2.0 + 1.5 * y + rng.normal(scale=0.5, size=80))[:, None]
    search = GridSearchCV(
        LogisticRegression(num_iterations=100), {"learning_rate": [1e-6, 1.0]}, cv=4
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] == 0.5 and scores[1] > 0.9
    assert search.best_params_ == {"learning_rate": 1.0}
    assert search.best_estimator_.learning_rate == 1.0
    assert search.best_estimator_.score(X, y) > 0.9


def test_clone_copies_the_parameters_not_the_fit():
    model = LogisticRegression(alpha=0.3, tol=1e-6).fit(*blobs())
    copy = clone(model)
    assert type(copy) is LogisticRegression and copy is not model
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "coef_") and not hasattr(copy, "classes_")


def test_a_fitted_model_pickles():
    X, y = blobs()
    labels = np.where(y == 1, "cat", "non-cat")
    model = LogisticRegression().fit(X, labels)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))
    assert restored.get_params() == model.get_params()


def test_the_parameters_come_from_the_constructor():
    model = LogisticRegression(learning_rate=0.5)
    assert list(model.get_params()) == [
        "learning_rate",
        "num_iterations",
        "print_cost",
        "print_every",
        "progress",
        "solver",
        "alpha",
        "tol",
    ]
    assert repr(model) == "LogisticRegression(learning_rate=0.5)"
    assert repr(LogisticRegression(num_iterations=2000.0)) == (
        "LogisticRegression(num_iterations=2000.0)"
    )  # equal to the default, but not the same type: shown
    with pytest.raises(ValueError, match=r"set_params: LogisticRegression has no parameter 'C'"):
        model.set_params(num_iterations=5, C=1.0)
    assert model.num_iterations == 2000  # a typo changes nothing


# -- any two labels -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("negative", "positive"),
    [("cat", "non-cat"), (-1, 1), (False, True), (0.0, 1.0), (3, 7)],
    ids=["strings", "minus-one-one", "booleans", "floats", "three-seven"],
)
def test_any_two_labels_are_learned_and_given_back(negative, positive):
    X, y = blobs()
    labels = np.where(y == 1, positive, negative)
    model = LogisticRegression(learning_rate=0.5, num_iterations=200).fit(X / X.std(axis=0), labels)
    assert model.classes_.tolist() == sorted([negative, positive])
    assert model.classes_.dtype == labels.dtype
    predicted = model.predict(X / X.std(axis=0))
    assert predicted.dtype == labels.dtype and set(predicted.tolist()) <= {negative, positive}
    assert model.score(X / X.std(axis=0), labels) > 0.8
    # predict_proba's columns follow classes_, whichever order the labels came in.
    positive_column = model.classes_.tolist().index(predicted[0])
    assert model.predict_proba(X[:1] / X.std(axis=0))[0, positive_column] > 0.5


def test_the_sorted_order_decides_the_positive_class():
    X = np.array([[0.0], [1.0], [3.0], [4.0]])
    model = LogisticRegression(learning_rate=0.5, num_iterations=200)
    model.fit(X, ["yes", "yes", "no", "no"])  # "no" < "yes": large x means classes_[0]
    assert model.classes_.tolist() == ["no", "yes"]
    assert model.coef_[0, 0] < 0
    assert model.predict([[5.0], [-1.0]]).tolist() == ["no", "yes"]


def test_a_single_class_is_an_error_that_says_so():
    with pytest.raises(
        cg.DataError, match=r"^LogisticRegression.fit: y holds only one class \('cat'\)"
    ):
        LogisticRegression().fit([[0.0], [1.0]], ["cat", "cat"])


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (
            [0, 1, 2, 1],
            r"Only binary classification is supported, and y holds 3 classes \(0, 1, 2\)",
        ),
        ([0.0, 0.5, 1.0, 1.0], r"Unknown label type: y holds continuous values \(e\.g\. 0\.5\)"),
        ([0.0, np.nan, 1.0, 1.0], r"Input y contains NaN"),
        ([0, "a", 1, 1], r"y holds 3 classes \('0', '1', 'a'\)"),  # NumPy makes them strings
        (None, r"requires y to be passed, but the target y is None"),
    ],
)
def test_labels_that_are_not_two_classes_are_refused(y, message):
    with pytest.raises(ValueError, match=f"^LogisticRegression.fit: .*{message}"):
        LogisticRegression().fit(np.zeros((4, 1)), y)


@pytest.mark.parametrize(
    "y",
    [
        np.array(["cat", None, "dog", "cat"], dtype=object),
        np.array([0, 1, np.nan, 1], dtype=object),
        np.array([None, 1.0, 0.0, None], dtype=object),
    ],
    ids=["none-among-strings", "nan-among-numbers", "two-nones"],
)
def test_missing_labels_in_an_object_array_are_called_missing_not_classes(y):
    first = next(i for i, label in enumerate(y) if label is None or label != label)
    count = sum(label is None or label != label for label in y)
    with pytest.raises(
        cg.DataError,
        match=rf"^LogisticRegression.fit: Input y contains missing labels \(None or NaN\): "
        rf"{count} of 4, the first at index {first}; every sample needs a class label",
    ):
        LogisticRegression().fit(np.arange(4.0)[:, None], y)


def test_missing_labels_in_a_pandas_series_are_called_missing():
    import pandas as pd

    y = pd.Series(["cat", pd.NA, "dog", "cat"], dtype="string")
    with pytest.raises(cg.DataError, match=r"Input y contains missing labels .*: 1 of 4"):
        LogisticRegression().fit(np.arange(4.0)[:, None], y)


def test_a_column_vector_y_is_flattened_with_a_data_conversion_warning():
    from sklearn.exceptions import DataConversionWarning

    X, y = blobs()
    for model in ESTIMATORS:
        with pytest.warns(
            cg.DataConversionWarning,
            match=r"^A column-vector y was passed when a 1d array was expected\. "
            rf"{type(model).__name__}\.fit took it as y\.ravel\(\)",
        ) as record:
            from_column = clone(model).fit(X, y[:, None])
        assert len(record) == 1 and issubclass(record[0].category, DataConversionWarning)
        flat = clone(model).fit(X, y)
        np.testing.assert_array_equal(from_column.predict_proba(X), flat.predict_proba(X))
    with pytest.raises(cg.ShapeError, match=r"y has shape \(1, 80\).*flatten it with y\.ravel"):
        LogisticRegression().fit(X, y[None, :])


def test_the_warnings_are_scikit_learns_too_once_it_is_loaded():
    from sklearn.exceptions import ConvergenceWarning, DataConversionWarning

    from compgraph.models.estimators import scikit_learn_flavoured

    for ours, theirs in [
        (cg.ConvergenceWarning, ConvergenceWarning),
        (cg.DataConversionWarning, DataConversionWarning),
        (cg.NotFittedError, ScikitLearnNotFittedError),
    ]:
        both = scikit_learn_flavoured(ours)
        assert issubclass(both, ours) and issubclass(both, theirs)
        assert both.__name__ == ours.__name__ and scikit_learn_flavoured(ours) is both


# -- input checks -------------------------------------------------------------------------------


def test_masked_arrays_are_refused_not_read_without_their_mask():
    X = np.ma.masked_array([[0.0], [1.0], [1e9]], mask=[[False], [False], [True]])
    with pytest.raises(
        cg.DTypeError, match=r"^LogisticRegression.fit: X is a NumPy masked array.*X\.filled"
    ):
        LogisticRegression().fit(X, [0, 1, 1])
    model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    with pytest.raises(
        cg.DTypeError, match=r"^LogisticRegression.predict: X is a NumPy masked array"
    ):
        model.predict(X)
    with pytest.raises(cg.DTypeError, match=r"y is a NumPy masked array"):
        LogisticRegression().fit([[0.0], [1.0]], np.ma.masked_array([0, 1], mask=[True, False]))


def test_sparse_input_says_to_call_toarray():
    from scipy import sparse

    X = sparse.csr_matrix(np.eye(4))
    with pytest.raises(cg.DTypeError, match=r"X is a sparse matrix \(csr_matrix\).*X\.toarray\(\)"):
        LogisticRegression().fit(X, [0, 1, 0, 1])
    with pytest.raises(cg.DTypeError, match=r"X is a sparse matrix \(csr_array\).*X\.toarray\(\)"):
        LogisticRegression().fit(sparse.csr_array(np.eye(4)), [0, 1, 0, 1])


@pytest.mark.parametrize(
    ("X", "error", "message"),
    [
        (np.zeros((0, 2)), cg.ShapeError, r"X has 0 sample\(s\) \(shape=\(0, 2\)\)"),
        (np.zeros((3, 0)), cg.ShapeError, r"X has 0 feature\(s\) \(shape=\(3, 0\)\)"),
        (np.zeros((3, 1, 1)), cg.ShapeError, r"X must be a 2-D array .* got shape \(3, 1, 1\)$"),
        (
            np.ones((3, 1)) * 1j,
            cg.DataError,
            r"X holds complex numbers\. Complex data not supported",
        ),
        (
            np.array([[1.0], [{}], [2.0]], dtype=object),
            cg.DTypeError,
            r"X has dtype object and an entry that is not a number",
        ),
        ([["a"], ["b"], ["c"]], cg.DTypeError, r"X has dtype <U1; it must hold real numbers"),
        (
            [[1.0], [np.inf], [np.nan]],
            cg.DataError,
            r"X of shape \(3, 1\) contains NaN or inf \(1 nan, 1 inf",
        ),
    ],
)
def test_bad_samples_are_named_with_their_shapes(X, error, message):
    with pytest.raises(error, match=f"^LogisticRegression.fit: {message}"):
        LogisticRegression().fit(X, [0, 1, 1][: len(X)] if len(X) else [])


# -- DataFrames and their column names ---------------------------------------------------------


def frame(columns, seed=0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(40, len(columns))), columns=columns)


def test_scikit_learns_column_name_check_passes():
    from sklearn.utils.estimator_checks import check_dataframe_column_names_consistency

    for estimator in ESTIMATORS:
        check_dataframe_column_names_consistency(type(estimator).__name__, estimator)


def test_a_dataframe_and_a_series_of_labels_fit_and_keep_the_column_names():
    import pandas as pd

    X = frame(["height", "weight", "age"])
    y = pd.Series(np.where(X["height"] > 0, "tall", "short"))
    model = LogisticRegression(learning_rate=0.5, num_iterations=200).fit(X, y)
    assert model.feature_names_in_.tolist() == ["height", "weight", "age"]
    assert model.feature_names_in_.dtype == object
    assert model.score(X, y) > 0.9
    z = X.to_numpy() @ model.coef_[0] + model.intercept_[0]
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)


@pytest.mark.parametrize(
    ("columns", "says"),
    [
        (
            ["age", "weight", "height"],
            r"Feature names must be in the same order as they were in fit",
        ),
        (
            ["height", "weight", "shoe"],
            r"Feature names unseen at fit time:\n- shoe\n.*yet now missing:\n- age\n",
        ),
        (["height", "weight"], r"Feature names seen at fit time, yet now missing:\n- age\n"),
    ],
)
def test_columns_must_come_by_the_names_and_order_fit_saw(columns, says):
    X = frame(["height", "weight", "age"])
    model = LogisticRegression(num_iterations=20).fit(X, (X["height"] > 0).to_numpy())
    for method in (model.predict, model.predict_proba, model.decision_function):
        with pytest.raises(
            cg.ShapeError,
            match=rf"^LogisticRegression\.\w+: The feature names should match those that were passed during fit\.\n(.|\n)*{says}",
        ):
            method(frame(columns))
    # The same columns, selected into the fitted order, predict as fit's frame does.
    again = frame(["height", "weight", "age"])
    np.testing.assert_array_equal(
        model.predict(again[list(model.feature_names_in_)]), model.predict(again)
    )


def test_names_on_one_side_only_are_warned_about():
    X = frame(["height", "weight"])
    y = (X["height"] > 0).to_numpy()
    with pytest.warns(
        UserWarning,
        match=r"X has no feature names, but LogisticRegression was fitted with feature names",
    ):
        LogisticRegression().fit(X, y).predict(X.to_numpy())
    with pytest.warns(
        UserWarning,
        match=r"X has feature names, but LogisticRegression was fitted with no feature names",
    ):
        LogisticRegression().fit(X.to_numpy(), y).predict(X)


def test_a_refit_on_an_array_forgets_the_old_column_names():
    X = frame(["height", "weight"])
    y = (X["height"] > 0).to_numpy()
    model = LogisticRegression().fit(X, y).fit(X.to_numpy(), y)
    assert not hasattr(model, "feature_names_in_")
    assert not hasattr(LogisticRegression().fit(frame([0, 1]), y), "feature_names_in_")


def test_column_names_that_mix_strings_and_numbers_are_refused():
    with pytest.raises(
        cg.DTypeError, match=r"X's column names mix strings with other types \(int, str\)"
    ):
        LogisticRegression().fit(frame(["height", 2]), [0, 1] * 20)


def test_numbers_in_an_object_array_are_read_as_numbers():
    X = np.array([[0.0], [1.0], [3.0], [4.0]])
    y = [0, 0, 1, 1]
    as_objects = LogisticRegression(num_iterations=50).fit(X.astype(object), y)
    as_floats = LogisticRegression(num_iterations=50).fit(X, y)
    np.testing.assert_array_equal(as_objects.coef_, as_floats.coef_)


def test_not_fitted_is_compgraphs_error_and_scikit_learns():
    with pytest.raises(cg.NotFittedError) as caught:
        LogisticRegression().predict_proba([[1.0]])
    assert isinstance(caught.value, ScikitLearnNotFittedError)
    assert isinstance(caught.value, AttributeError) and isinstance(caught.value, ValueError)
    # As joblib's workers send it back to the parent process:
    restored = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(restored, cg.NotFittedError) and isinstance(
        restored, ScikitLearnNotFittedError
    )
    assert str(restored) == str(caught.value)


def test_compgraph_imports_without_scikit_learn(tmp_path):
    """The estimators work with scikit-learn absent: a blocker on sys.meta_path hides it."""
    import subprocess
    import sys

    script = tmp_path / "no_sklearn.py"
    script.write_text(
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'sklearn':\n"
        "            raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from compgraph.models.logistic import LogisticRegression\n"
        "import compgraph as cg\n"
        "model = LogisticRegression(learning_rate=0.5, num_iterations=100)\n"
        "model.fit([[0.0], [1.0], [3.0], [4.0]], ['b', 'b', 'a', 'a'])\n"
        "print(model.predict([[0.5], [3.5]]).tolist(), repr(model))\n"
        "try:\n"
        "    LogisticRegression().predict([[1.0]])\n"
        "except cg.NotFittedError as error:\n"
        "    print(type(error).__mro__[1].__module__)\n"
        "print('sklearn' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "['b', 'a'] LogisticRegression(learning_rate=0.5, num_iterations=100)",
        "compgraph.errors",
        "False",
    ]


# -- the subclass contract ----------------------------------------------------------------------


class NearestMean(BinaryClassifier):
    """A toy classifier written to the documented contract: closer class mean wins."""

    def __init__(self, sharpness=1.0):
        self.sharpness = sharpness

    def _fit_encoded(self, X, y):
        self.means_ = np.stack([X[y == 0].mean(axis=0), X[y == 1].mean(axis=0)])

    def _positive_probability(self, X):
        distances = ((X[:, None, :] - self.means_) ** 2).sum(axis=2)
        return 1 / (1 + np.exp(self.sharpness * (distances[:, 1] - distances[:, 0])))


def test_a_subclass_only_writes_its_fit_and_probabilities():
    X = np.array([[0.0], [1.0], [9.0], [10.0]])
    model = NearestMean(sharpness=2.0).fit(X, ["low", "low", "high", "high"])
    assert model.classes_.tolist() == ["high", "low"]
    assert model.predict([[0.5], [9.5]]).tolist() == ["low", "high"]
    assert model.score(X, ["low", "low", "high", "high"]) == 1.0
    assert repr(model) == "NearestMean(sharpness=2.0)" and repr(NearestMean()) == "NearestMean()"
    assert clone(model).get_params() == {"sharpness": 2.0}
    with pytest.raises(cg.ShapeError, match="X has 2 features, but NearestMean is expecting 1"):
        model.predict(np.ones((1, 2)))


def test_score_weights_samples():
    X = np.array([[0.0], [1.0], [9.0], [10.0]])
    model = NearestMean().fit(X, [0, 0, 1, 1])
    assert model.score(X, [0, 0, 1, 0]) == 0.75
    assert model.score(X, [0, 0, 1, 0], sample_weight=[1, 1, 1, 5]) == 3 / 8
    with pytest.raises(cg.ShapeError, match=r"sample_weight has shape \(2,\)"):
        model.score(X, [0, 0, 1, 1], sample_weight=[1, 1])
