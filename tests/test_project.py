"""The promises the README makes to a newcomer stay true."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import compgraph as cg

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


def check_initialization(out, cwd):
    # The notebook's starting costs: ln 2, its inf beside compgraph's finite cost, and He's.
    assert "zeros: cost at iteration 0 0.693147 (compgraph" in out
    assert "random: cost at iteration 0 1773.585955 (compgraph" in out
    assert "the notebook's naive cost inf" in out
    assert "he: cost at iteration 0 0.883054 (compgraph" in out
    assert "zeros: train accuracy 50.00 %, test accuracy 50.00 %" in out  # symmetry unbroken
    for name in ("costs", "zeros", "random", "he"):
        assert (cwd / "out" / f"initialization_{name}.png").stat().st_size > 0


def check_regularization(out, cwd):
    assert "data: the generated stand-in, train_X (2, 200), test_X (2, 200)" in out
    found = re.findall(r"^(none|L2|dropout): train accuracy ([\d.]+) %, test accuracy", out, re.M)
    assert [name for name, _ in found] == ["none", "L2", "dropout"], out
    for name in ("costs", "none", "L2", "dropout"):
        assert (cwd / "out" / f"regularization_{name}.png").stat().st_size > 0


def check_gradient_checking(out, cwd):
    assert "1-D: difference = 2.919e-10: Your backward propagation works perfectly fine!" in out
    # The course's planted bugs (dW2 doubled, db1 four times) give its 0.285 and are named.
    assert "with the planted bugs: difference = 2.851e-01: There is a mistake" in out
    assert "parameters over the threshold: b1, W2" in out
    fixed = float(re.search(r"N-D, fixed: difference = (\S+):", out)[1])
    notebook = float(re.search(r"against the notebook's NumPy cost: difference = (\S+)", out)[1])
    assert fixed < 1e-8 and 1e-7 < notebook < 2e-7, out  # the course's 1.189e-07
    assert "fresh masks each call: refused" in out and "holds dropout masks (D1, D2)" in out
    assert (cwd / "out" / "gradient_checking.png").stat().st_size > 0


def check_dask(out, cwd):
    assert "fit: 5 steps in" in out and "network fit: 20 steps in" in out, out
    linear = float(re.search(r"^accuracy on all of X: ([\d.]+) %", out, re.M)[1])
    network = float(re.search(r"^network accuracy on all of X: ([\d.]+) %", out, re.M)[1])
    line = float(re.search(r"^logistic accuracy on the same labels: ([\d.]+) %", out, re.M)[1])
    # a line fits the linear labels; on x0*x1 > 0 only the hidden layer beats chance
    assert linear > 80 and network > line + 10, out


# What each example must print or write, beyond running without error.
EXPECTATIONS = {
    "dask_logistic_regression.py": check_dask,
    "logistic_regression.py": check_logistic_regression,
    "computation_graph.py": check_computation_graph,
    "initialization.py": check_initialization,
    "regularization.py": check_regularization,
    "gradient_checking.py": check_gradient_checking,
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


# -- releases users can follow (issue 25) ------------------------------------------------------


def test_the_version_is_written_once_and_shown_by_the_command(capsys):
    import tomllib

    from compgraph.cli.commands import main

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["hatch"]["version"]["path"] == "compgraph/__init__.py"
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", cg.__version__)
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"compgraph {cg.__version__}\n"


def test_the_changelog_keeps_a_changelog():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## \[([^\]]+)\]", text, re.M)
    assert versions[0] == "Unreleased" and "0.2.0" in versions and "0.1.0" in versions
    released = cg.__version__.split(".dev")[0]
    # A development version is not released yet: its changes are under Unreleased.
    assert (released in versions) != (".dev" in cg.__version__)
    for version in ("Unreleased", "0.2.0"):
        section = text.split(f"## [{version}]", 1)[1].split("\n## [", 1)[0]
        headings = re.findall(r"^### (\w+)", section, re.M)
        assert headings == ["Added", "Changed", "Fixed"], (version, headings)
    for version in versions:
        assert f"\n[{version}]: https://" in text  # each heading links to its changes


# -- the README's words are true (issue 25) -----------------------------------------------------

#: Programs the virtual environment installs: typed bare, they are "command not found" unless
#: the environment is activated, which the README's commands never do.
VENV_PROGRAMS = {"compgraph", "ruff", "pip", "python", "pytest", "mkdocs", "mypy"}


def commands_in(text: str) -> list[str]:
    """Shell commands of a page: lines of bash/console blocks and `inline` spans, split at
    && and |, a leading $ prompt and NAME=value settings removed."""
    found = []
    blocks = re.findall(r"^```(?:bash|console|sh)\n(.*?)^```", text, re.M | re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    for candidate in lines + re.findall(r"`([^`\n]+)`", text):
        for part in re.split(r"&&|\|", candidate.split("#")[0]):
            words = part.strip().removeprefix("$ ").split()
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words = words[1:]
            if words:
                found.append(" ".join(words))
    return found


@pytest.mark.parametrize(
    "page",
    [
        "README.md",
        "docs/how-to/rendering.md",
        "docs/how-to/player.md",
        "docs/tutorial/computation-graph.md",
    ],
)
def test_commands_work_as_typed_without_activating_the_venv(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    # Two words in prose name a command ("the `graphviz-pure` program that `pip install`
    # brings"); three or more are a command to type.
    bare = [c for c in commands_in(text) if c.split()[0] in VENV_PROGRAMS and len(c.split()) > 2]
    assert bare == [], f"{page}: write these as .venv/bin/..."
    assert any(c.startswith(".venv/bin/compgraph ") for c in commands_in(text))
