"""The promises the README makes to a newcomer stay true."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_commands():
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_ci_runs_the_readme_test_command_verbatim():
    demo, tests = readme_commands()
    assert "pytest" in tests and "examples/" in demo
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci_lines


EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def run_example(script, *args, cwd):
    result = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def check_logistic_regression(out, cwd):
    assert "Cost after iteration 0: 0.693147" in out  # ln 2: w = 0, b = 0 predicts 1/2
    assert "Cost after iteration 200:" in out
    accuracies = dict(re.findall(r"(train|test) accuracy: ([\d.]+) %", out))
    assert float(accuracies["train"]) >= 95 and float(accuracies["test"]) >= 90, out
    assert (cwd / "out" / "logistic_costs.png").stat().st_size > 0


def check_computation_graph(out, cwd):
    assert "dJ/da = 3" in out and "dJ/dc = 9" in out


# What each example must print or write, beyond running without error.
EXPECTATIONS = {
    "logistic_regression.py": check_logistic_regression,
    "computation_graph.py": check_computation_graph,
}


def test_the_demo_is_an_example():
    script = readme_commands()[0].split(".venv/bin/python ")[-1]
    assert script == "examples/logistic_regression.py"
    assert (ROOT / script) in EXAMPLES


@pytest.mark.slow  # example runs: 2-7 s each
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_every_example_runs_standalone(script, tmp_path):
    """Each script runs from any directory; those with a --fast mode run in it."""
    fast = ["--fast"] if "--fast" in script.read_text() else []
    out = run_example(script, *fast, cwd=tmp_path)
    if script.name in EXPECTATIONS:
        EXPECTATIONS[script.name](out, tmp_path)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda path: path.name)
def test_every_example_is_listed_in_the_readme(script):
    readme = (ROOT / "README.md").read_text()
    examples = readme[readme.index("## Examples") :].split("\n## ")[0]
    assert f"- `examples/{script.name}`:" in examples


def test_code_is_lint_and_format_clean():
    # Issue 2 asks for ruff-clean code; CI runs only the test command, so it is checked here.
    for command in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *command], capture_output=True, text=True, cwd=ROOT
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow  # mypy --strict on the package: about 9 s
def test_types_are_checked_strictly():
    # Issue 10: the package ships py.typed, so its annotations are a promise to users' type
    # checkers; mypy --strict (the [tool.mypy] section of pyproject.toml) keeps it honest.
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_type_checker_sees_every_op_function():
    """compgraph/__init__.py spells out for type checkers what its star import brings."""
    import compgraph.functions

    tree = ast.parse((ROOT / "compgraph" / "__init__.py").read_text())
    for_type_checkers = {
        alias.asname
        for statement in ast.walk(tree)
        if isinstance(statement, ast.If) and ast.unparse(statement.test) == "TYPE_CHECKING"
        for imported in statement.body
        if isinstance(imported, ast.ImportFrom) and imported.module == "compgraph.functions"
        for alias in imported.names
        if alias.asname == alias.name  # the form that re-exports under --strict
    }
    assert for_type_checkers == set(compgraph.functions.__all__)
