"""What ``pip install compgraph`` gives: a wheel holding the package, its type marker and its
license; metadata that says where the project lives and which Pythons it supports; extras that
cover what their users import; a ``compgraph`` command that works from a clean environment;
and estimator checks that pass on the oldest scikit-learn the extras allow.

Everything is read from a wheel built here from the working tree, so the tests see what pip
would ship, not what an earlier editable install recorded.
"""

import ast
import email
import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import skip_unless_required

ROOT = Path(__file__).resolve().parent.parent
HOME = "https://github.com/compgraph/compgraph"
SUPPORTED_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of the working tree, built offline (hatchling comes with the dev extra)."""
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--no-index", "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (built,) = out.glob("compgraph-*.whl")
    return built


@pytest.fixture(scope="module")
def metadata(wheel) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_bytes(archive.read(name))


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(metadata, extra: str | None) -> dict[str, str]:
    """Requirement name -> its version specifier, for the core (None) or one extra."""
    found = {}
    for line in metadata.get_all("Requires-Dist") or []:
        requirement, _, marker = line.partition(";")
        in_extra = re.search(r"""extra\s*==\s*["']([^"']+)["']""", marker)
        if (in_extra[1] if in_extra else None) == extra:
            name, specifier = re.fullmatch(r"\s*([A-Za-z0-9._-]+)\s*(.*?)\s*", requirement).groups()
            found[normalized(name)] = specifier
    return found


# -- the wheel and its metadata -----------------------------------------------------------------


def test_the_wheel_holds_the_package_its_type_marker_and_its_license(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    # Every module of every room, and the package data: the player's HTML, CSS and JS.
    files = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "compgraph").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert files <= names, files - names
    assets = {"player.html", "player.css", "player.js"}
    assert {f"compgraph/pictures/assets/{name}" for name in assets} <= names
    assert "compgraph/py.typed" in names
    license_files = [n for n in names if re.search(r"\.dist-info/licenses/LICENSE$", n)]
    assert license_files, sorted(names)
    assert "compgraph = compgraph.cli:main" in scripts
    assert not [n for n in names if n.startswith(("tests/", "docs/", "benchmarks/"))]


def test_the_wheel_has_the_packages_version(metadata):
    import compgraph

    assert metadata["Version"] == compgraph.__version__


def test_the_metadata_says_where_the_project_lives(metadata):
    urls = dict(u.split(", ", 1) for u in metadata.get_all("Project-URL"))
    assert urls["Source"] == HOME and urls["Issues"] == f"{HOME}/issues"
    assert urls["Documentation"].startswith("https://")
    assert "MIT" in (metadata["License-Expression"], metadata["License"])  # by hatchling's age


def test_the_classifiers_name_the_supported_pythons(metadata):
    classifiers = metadata.get_all("Classifier")
    listed = [c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r".*Python :: 3\.\d+", c)]
    assert listed == SUPPORTED_PYTHONS
    assert metadata["Requires-Python"] == f">={SUPPORTED_PYTHONS[0]}"
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in SUPPORTED_PYTHONS


def scikit_learn_floor(metadata) -> str:
    extras = metadata.get_all("Provides-Extra")
    specifiers = {requirements(metadata, extra).get("scikit-learn") for extra in extras}
    specifiers.discard(None)
    assert len(specifiers) == 1, f"the extras disagree on scikit-learn: {specifiers}"
    (specifier,) = specifiers
    floor = re.fullmatch(r">=(\d+\.\d+(?:\.\d+)?)", specifier)
    assert floor, f"scikit-learn{specifier}: expected a plain >= floor"
    return floor[1]


def test_every_extra_asks_for_the_same_scikit_learn(metadata):
    assert "sklearn" in metadata.get_all("Provides-Extra")
    # 1.6 is the first release that reads __sklearn_tags__, which is all compgraph offers.
    assert tuple(int(p) for p in scikit_learn_floor(metadata).split(".")) >= (1, 6)


# -- the docs extra builds the docs -------------------------------------------------------------

EXECUTED_BLOCK = re.compile(r"^```python(?P<info>[^\n]*)\n(?P<code>.*?)^```$", re.M | re.S)


def imported_top_level_modules(code: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


def docs_site_imports() -> dict[str, set[str]]:
    """Top-level module -> the pages whose blocks run at build time (exec="on") import it."""
    found: dict[str, set[str]] = {}
    for page in sorted((ROOT / "docs").rglob("*.md")):
        for block in EXECUTED_BLOCK.finditer(page.read_text(encoding="utf-8")):
            if 'exec="on"' in block["info"]:
                for module in imported_top_level_modules(block["code"]):
                    found.setdefault(module, set()).add(str(page.relative_to(ROOT)))
    return found


def test_the_docs_extra_covers_every_import_of_the_docs_pages(metadata):
    installable = set(requirements(metadata, None)) | set(requirements(metadata, "docs"))
    distributions = importlib.metadata.packages_distributions()
    imports = docs_site_imports()
    assert {"compgraph", "numpy", "sklearn", "hypothesis"} <= set(imports)  # the parser reads
    missing = {}
    for module, pages in sorted(imports.items()):
        if module in sys.stdlib_module_names or module == "compgraph":
            continue
        providers = {normalized(d) for d in distributions.get(module, [])}
        if not providers & installable:
            missing[module] = (sorted(providers) or ["(not installed here)"], sorted(pages))
    assert not missing, f"imported by docs pages but not in the docs extra: {missing}"


def test_the_import_parser_sees_every_kind_of_import():
    code = "import a.b\nimport c as d, e\nfrom f.g import h\nfrom . import i\nfrom .j import k\n"
    assert imported_top_level_modules(code) == {"a", "c", "e", "f"}


# -- a clean environment ------------------------------------------------------------------------


def purelib(python: Path | str) -> Path:
    return Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True, timeout=60,
        ).stdout.strip()
    )  # fmt: skip


def test_the_wheel_installs_in_a_clean_environment_and_its_command_draws(wheel, tmp_path):
    env = tmp_path / "env"
    # Without PYTHONPATH: a checkout put on it (as the tests are often run) would be imported
    # in place of the wheel.
    outside = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    venv.create(env, with_pip=False)
    python = env / ("Scripts" if os.name == "nt" else "bin") / "python"
    # Offline: the dependencies come from this environment's site-packages, added after
    # the clean one's own (a plain path in a .pth, so this environment's editable compgraph
    # stays out); pip sees them installed and downloads nothing.
    (purelib(python) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "-q",
         str(wheel)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    scripts = python.parent
    # graphviz-pure's layout program, as pip would have put it beside the command.
    layout = Path(sysconfig.get_paths()["scripts"]) / "graphviz-pure"
    (scripts / "graphviz-pure").symlink_to(layout)

    run = subprocess.run(
        [str(scripts / "compgraph"), "draw", "3*(a+b*c)", "a=5", "b=3", "c=2", "-o", "out.svg"],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        env={**outside, "PATH": str(scripts)},  # no system dot: the pip-installed one
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    # The numbers, not the wording (the CLI and the pictures may word them differently):
    # J = 33 first, then dJ/da, dJ/db, dJ/dc.
    printed = [float(n) for n in re.findall(r"=\s*(-?\d+(?:\.\d+)?)\s*$", run.stdout, re.M)]
    assert printed[:4] == [33, 3, 6, 9], run.stdout
    texts = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", (tmp_path / "out.svg").read_text()))
    assert {"33", "3", "6", "9"} <= set(re.findall(r"\d+(?:\.\d+)?", texts)), texts

    # The player's page is package data: the installed wheel finds it.
    run = subprocess.run(
        [str(scripts / "compgraph"), "animate", "3*(a+b*c)", "a=5", "b=3", "c=2", "-o", "p.html"],
        capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        env={**outside, "PATH": str(scripts)},
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    page = (tmp_path / "p.html").read_text(encoding="utf-8")
    assert "window.compgraphPlayer" in page and "#cg-graph" in page

    where = subprocess.run(
        [str(python), "-c", "import compgraph; print(compgraph.__file__)"],
        capture_output=True, text=True, timeout=60, check=True, cwd=tmp_path, env=outside,
    ).stdout  # fmt: skip
    assert Path(where).resolve().is_relative_to(env.resolve()), where


# -- the oldest supported scikit-learn ----------------------------------------------------------


def registry_unavailable(why: str) -> None:
    skip_unless_required(f"needs the package registry to install the oldest scikit-learn: {why}")


@pytest.mark.slow  # scikit-learn's estimator checks in a fresh environment: about 20 s
@pytest.mark.network
def test_the_estimator_checks_pass_on_the_oldest_supported_scikit_learn(metadata, tmp_path):
    """scikit-learn at the extras' floor, installed beside this environment, runs
    tests/test_sklearn.py (scikit-learn's own estimator checks among them)."""
    floor = scikit_learn_floor(metadata)
    target = tmp_path / "oldest"
    # Only scikit-learn itself: its dependencies (NumPy, SciPy, joblib) are this
    # environment's, so pip's cache makes this one wheel quick.
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         f"scikit-learn=={floor}"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if install.returncode != 0:
        registry_unavailable(install.stderr.strip().splitlines()[-1])
    # With array-api-compat installed (the backends' extra), scikit-learn 1.6 turns array-API
    # dispatch on while it collects its estimator checks, and refuses to unless SciPy's own
    # array-API support was switched on first.
    env = {**os.environ, "PYTHONPATH": str(target), "SCIPY_ARRAY_API": "1"}
    version = subprocess.run(
        [sys.executable, "-c", "import sklearn; print(sklearn.__version__)"],
        capture_output=True, text=True, timeout=60, check=True, env=env,
    ).stdout.strip()  # fmt: skip
    assert version.split(".")[:2] == floor.split(".")[:2], version
    checks = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_sklearn.py"],
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT, env=env,
    )  # fmt: skip
    assert checks.returncode == 0, checks.stdout[-5000:]
    assert re.search(r"\b\d+ passed\b", checks.stdout) and " failed" not in checks.stdout
