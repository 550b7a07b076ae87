"""The promises the README makes to a newcomer stay true."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_ci_runs_the_readme_test_command_verbatim():
    demo, tests = readme_commands()
    assert "pytest" in tests and "examples/" in demo
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci_lines


def run_example(script, *args, cwd=ROOT):
    result = subprocess.run(
        [sys.executable, str(ROOT / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_demo_runs(tmp_path):
    script = readme_commands()[0].split(".venv/bin/python ")[-1]
    assert script == "examples/logistic_regression.py"
    out = run_example(script, "--fast", "--out-dir", str(tmp_path))
    assert "Cost after iteration 0: 0.693147" in out  # ln 2: w = 0, b = 0 predicts 1/2
    assert "Cost after iteration 200:" in out
    accuracies = dict(re.findall(r"(train|test) accuracy: ([\d.]+) %", out))
    assert float(accuracies["train"]) >= 95 and float(accuracies["test"]) >= 90, out
    assert (tmp_path / "logistic_costs.png").stat().st_size > 0


def test_the_computation_graph_example_runs():
    out = run_example("examples/computation_graph.py")
    assert "dJ/da = 3" in out and "dJ/dc = 9" in out
