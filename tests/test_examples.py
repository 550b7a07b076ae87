"""The course's Course 2 lessons at full length: the examples reach the notebooks' numbers.

Each example runs with the course's seeds, layer sizes, learning rates and iteration counts
(a minute or more each, so in the slow tier). Their short ``--fast`` runs, and what those
must print and draw, are checked in the default tier by tests/test_project.py, which runs
every example.
"""

import re
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")


def run_example(name, *args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [name, *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def accuracies(out):
    """{name: (train %, test %)} from lines 'name: train accuracy T %, test accuracy t %'."""
    found = re.findall(
        r"^(.+): train accuracy ([\d.]+) %, test accuracy ([\d.]+) %$", out, flags=re.MULTILINE
    )
    return {name: (float(train), float(test)) for name, train, test in found}


@pytest.mark.slow
def test_initialization_reaches_the_notebooks_accuracies(tmp_path, monkeypatch, capsys):
    out = run_example(
        "initialization.py", "--out-dir", str(tmp_path), monkeypatch=monkeypatch, capsys=capsys
    )
    # The notebook: zeros 50 % / 50 %, random × 10 83 % / 86 %, He 99.3 % / 96 %.
    assert accuracies(out) == {
        "zeros": (50.0, 50.0),
        "random": (83.0, 86.0),
        "he": (99.33, 96.0),
    }, out
    # He's costs are the notebook's to six digits (0.6879825919728063, 0.07357895962677366).
    he = out[out.index("he: cost at iteration 0") :]
    assert "Cost after iteration 1000: 0.687983" in he
    assert "Cost after iteration 14000: 0.073579" in he
    # The zeros run stays at ln 2 and is not reported as diverged.
    assert "diverged" not in out
    for name in ("costs", "zeros", "random", "he"):
        assert (tmp_path / f"initialization_{name}.png").stat().st_size > 0


@pytest.mark.slow
def test_regularization_generalises_better_on_the_stand_in(tmp_path, monkeypatch, capsys):
    out = run_example(
        "regularization.py", "--out-dir", str(tmp_path), monkeypatch=monkeypatch, capsys=capsys
    )
    found = accuracies(out)
    assert set(found) == {"none", "L2", "dropout"}, out
    none_train, none_test = found["none"]
    # Unregularized, it fits the (noisy) training set better than the clean test set...
    assert none_train > none_test, out
    # ...and both regularizations give up training accuracy for test accuracy.
    for name in ("L2", "dropout"):
        train, test = found[name]
        assert train < none_train and test > none_test, out
    assert found["L2"][1] >= none_test + 2, out


@pytest.mark.slow
def test_optimization_reaches_the_notebooks_accuracies(tmp_path, monkeypatch, capsys):
    out = run_example(
        "optimization.py", "--out-dir", str(tmp_path), monkeypatch=monkeypatch, capsys=capsys
    )
    found = dict(re.findall(r"^(.+): accuracy ([\d.]+) %", out, flags=re.MULTILINE))
    # The notebook: gradient descent and momentum 71.7 %, Adam 94 % after 5000 epochs.
    assert found == {"gradient descent": "71.7", "momentum": "71.7", "Adam": "94.3"}, out
