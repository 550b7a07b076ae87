"""The ``compgraph draw`` command: success, every kind of refusal, and the installed script."""

import html
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from compgraph.cli.commands import MAX_FORMULA_LENGTH, main
from compgraph.pictures.drawing import format_array

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def scratch_directory(tmp_path, monkeypatch):
    """Run in a scratch folder, so a broken -o - cannot leave a file named "-" behind."""
    monkeypatch.chdir(tmp_path)


def svg_texts(path):
    return [text.text for text in ET.parse(path).iter(SVG + "text")]


def test_draw_prints_value_and_gradients_and_draws_them(tmp_path, capsys):
    out = tmp_path / "graph.svg"
    assert main(["draw", "3*(a + b*c)", "a=5", "b=3", "c=2", "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines() == [
        "f = 33",
        "df/da = 3",
        "df/db = 6",
        "df/dc = 9",
        f"wrote {out}",
    ]
    assert printed.err == ""
    texts = svg_texts(out)
    assert texts[0] == "3*(a + b*c)"  # the title
    for expected in ("a", "value: 5", "grad: 3", "grad: 6", "grad: 9", "f", "value: 33"):
        assert expected in texts


def test_draw_takes_arrays_functions_keywords_and_transpose(tmp_path, capsys):
    out = tmp_path / "lr.svg"
    formula = "mean(sigmoid(w.T @ x + b), axis=0) * 2"
    argv = ["draw", formula, "w=[[1, 2], [3, 4]]", "x=[[0.5], [-1]]", "b=0.25", "-o", str(out)]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    w, x, b = np.array([[1.0, 2], [3, 4]]), np.array([[0.5], [-1]]), 0.25
    s = 1 / (1 + np.exp(-(w.T @ x + b)))
    f = np.mean(s) * 2
    assert lines[0] == f"f = [{f:.4g}]"
    ds = 2 / 2 * s * (1 - s)  # d f / d z, per row of z
    assert f"df/db = {ds.sum():.4g}" in lines
    assert lines[1:3] == ("df/dw = " + format_array(x @ ds.T)).splitlines()  # dz_j/dw_ij = x_i
    assert "(2, 2) float64" in svg_texts(out)


def test_reshape_and_sum_with_tuples(tmp_path, capsys):
    out = tmp_path / "r.svg"
    assert main(["draw", "sum(reshape(x, (3, 1)) ** 2)", "x=[1, 2, 3]", "-o", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["f = 14", "df/dx = [2, 4, 6]"]


def test_layout_choices(tmp_path, capsys):
    out = tmp_path / "g.png"
    argv = ["draw", "a - b", "a=1", "b=2", "-o", str(out), "--engine", "graphviz-pure"]
    assert main([*argv, "--rankdir", "TB"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    assert capsys.readouterr().out.splitlines()[:3] == ["f = -1", "df/da = 1", "df/db = -1"]


def test_unused_variable_gets_a_zero_gradient_and_a_warning(tmp_path, capsys):
    assert main(["draw", "a*a", "a=3", "z=1", "-o", str(tmp_path / "g.svg")]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines()[:3] == ["f = 9", "df/da = 6", "df/dz = 0"]
    assert printed.err == "compgraph draw: warning: z is not used in the formula\n"


def test_a_formula_of_numbers_alone_has_a_value_and_no_gradients(tmp_path, capsys):
    assert main(["draw", "exp(0) + 2", "-o", str(tmp_path / "g.svg")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "f = 3"


def test_non_finite_results_warn_on_one_line_each(tmp_path, capsys):
    assert main(["draw", "log(a)", "a=0", "-o", str(tmp_path / "g.svg")]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines()[:2] == ["f = -inf", "df/da = inf"]
    warnings = printed.err.splitlines()
    assert warnings and all(line.startswith("compgraph draw: warning: ") for line in warnings)
    assert "log needs strictly positive input" in printed.err


REFUSED = [
    # (formula, variables, what the one-line error must say)
    ("3*(a + d)", ["a=1"], "at column 8 (d): unbound variable 'd'"),
    ("__import__('os').system('true')", [], "only calls to the op functions"),
    ("a.__class__", ["a=1"], "at column 1 (a.__class__): attribute access (.__class__)"),
    ("exp.__globals__", [], "attribute access"),
    ("open('/etc/passwd')", [], "only calls to the op functions"),
    ("a +", ["a=1"], "at column 4: invalid syntax"),
    ("3*(a", ["a=1"], "'(' was never closed"),
    ("", [], "the formula is empty"),
    ("exp", [], "exp is a function: call it"),
    ("a[0]", ["a=[1, 2]"], "subscript expressions are not allowed"),
    ("lambda: 1", [], "lambda expressions are not allowed"),
    ("[x for x in a]", ["a=1"], "listcomp expressions are not allowed"),
    ("a if a else a", ["a=1"], "ifexp expressions are not allowed"),
    ("a // 2", ["a=1"], "this operator is not supported"),
    ("a < 2", ["a=1"], "compare expressions are not allowed"),
    ("'text' * a", ["a=1"], "'text' is text where a number or variable goes"),
    ("sum(a, axis='0')", ["a=[1, 2]"], "sum(): axis must be an int or a tuple of ints"),
    ("einsum(a, a)", ["a=[1, 2]"], "einsum(): subscripts must be quoted text"),
    ("einsum('" + "i" * 101 + "', a)", ["a=[1]"], "subscripts is 101 characters"),
    ("einsum('i,j->ij', a, a)", ["a=[" + "1," * 1001 + "1]"], "(1002, 1002)"),
    ("einsum('ij->', a)", ["a=[1, 2]"], "einsum"),
    ("True * a", ["a=1"], "only numbers are allowed as constants"),
    ("exp(*a)", ["a=[1]"], "unpacking"),
    ("exp(a, a)", ["a=1"], "exp(): too many positional arguments"),
    ("sum(a, bogus=1)", ["a=1"], "sum(): got an unexpected keyword argument 'bogus'"),
    ("a @ b", ["a=[1, 2]", "b=[1, 2, 3]"], "matmul cannot combine 'a' of shape (2,)"),
    ("sum(a, axis=3)", ["a=[1, 2]"], "at column 1 (sum(a, axis=3))"),
    ("a * 2", ["a=[1, 2]"], "shape (2,); gradients need a single number"),
    ("(a, a)", ["a=1"], "it must compute one value"),
    ("a * " * 300 + "a", ["a=1"], f"the limit is {MAX_FORMULA_LENGTH}"),
    ("(" * 300 + "a" + ")" * 300, ["a=1"], "too many nested parentheses"),
    ("a", ["a"], "expected NAME=VALUE"),
    ("a", ["1a=3"], "expected NAME=VALUE"),
    ("a", ["for=3"], "expected NAME=VALUE"),
    ("exp(1)", ["exp=3"], "'exp' is an op function"),
    ("a", ["a=1", "a=2"], "variable 'a' is given twice"),
    ("a", ["a=hello"], "is not a number or a list of numbers"),
    ("a", ["a=__import__('os')"], "is not a number or a list of numbers"),
    ("a", ["a=[1, [2, 3]]"], "variable 'a': "),
    ("a", ["a=['x']"], "variable 'a': "),
]


def test_einsum_draws_from_a_shell_with_quoted_subscripts(tmp_path, capsys):
    out = tmp_path / "g.svg"
    assert main(["draw", "-o", str(out), "sum(einsum('ij,j->i', A, x))", "A=[[1, 2], [3, 4]]",
                 "x=[1, -1]"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    # Σ_i Σ_j A_ij x_j = -2: d/dA_ij = x_j, d/dx_j = Σ_i A_ij
    assert "f = -2\ndf/dA = [[1, -1],\n [1, -1]]\ndf/dx = [4, 6]\n" in printed
    picture = html.unescape(out.read_text())
    assert "einsum" in picture and "subscripts='ij,j->i'" in picture


@pytest.mark.parametrize(("formula", "variables", "message"), REFUSED)
def test_bad_formulas_and_variables_exit_2_with_one_line(
    tmp_path, capsys, formula, variables, message
):
    out = tmp_path / "g.svg"
    assert main(["draw", "-o", str(out), "--", formula, *variables]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.count("\n") == 1, printed.err
    assert printed.err.startswith("compgraph draw: error")
    assert message in printed.err
    assert not out.exists()


def test_a_picture_that_cannot_be_written_exits_1(tmp_path, capsys):
    assert main(["draw", "a", "a=1", "-o", str(tmp_path / "missing" / "g.svg")]) == 1
    assert "cannot draw" in capsys.readouterr().err
    argv = ["draw", "a", "a=1", "-o", str(tmp_path / "g.pdf"), "--engine", "graphviz-pure"]
    assert main(argv) == 1


def test_help_has_an_example(capsys):
    assert main(["draw", "--help"]) == 0
    text = capsys.readouterr().out
    assert 'compgraph draw "3*(a + b*c)" a=5 b=3 c=2 -o graph.svg' in text
    assert "sigmoid" in text and "Exit status" in text
    assert main(["--help"]) == 0
    assert main([]) == 2
    assert main(["paint"]) == 2


def installed_script():
    script = shutil.which("compgraph", path=str(Path(sys.executable).parent))
    assert script, "the compgraph console script is not installed next to this Python"
    return script


def test_the_installed_console_script(tmp_path):
    out = tmp_path / "graph.svg"
    done = subprocess.run(
        [installed_script(), "draw", "3*(a + b*c)", "a=5", "b=3", "c=2", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:4] == ["f = 33", "df/da = 3", "df/db = 6", "df/dc = 9"]
    assert "grad: 9" in svg_texts(out)
    refused = subprocess.run(
        [installed_script(), "draw", "__import__('os')"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "only calls to the op functions" in refused.stderr


def test_the_drawing_example_writes_the_lecture_graph(tmp_path):
    script = Path(__file__).resolve().parent.parent / "examples" / "draw_graph.py"
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    texts = svg_texts(tmp_path / "computation_graph.svg")
    for expected in ("J = 3v", "value: 33", "u = bc", "grad: 6", "grad: 9"):
        assert expected in texts


def test_negative_numbers_are_numbers(tmp_path, capsys):
    out = tmp_path / "n.svg"
    formula = "sum(sum(reshape(x, (-1, 1)) * [-1, 2], axis=-1))"
    assert main(["draw", formula, "x=[1, 2, 3]", "-o", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == ["f = 6", "df/dx = [1, 1, 1]"]


def test_results_beyond_the_element_limit_are_refused(tmp_path, capsys):
    from compgraph.cli.commands import MAX_ELEMENTS

    n = 1000  # a (1000, 1) * (1, 1000) outer product passes; times (1000, 1, 1) does not
    formula = "sum(reshape(x, (n, 1)) * reshape(x, (1, n)) * reshape(x, (n, 1, 1)))".replace(
        "n", str(n)
    )
    x = "x=" + str(list(range(n)))
    assert main(["draw", formula, x, "-o", str(tmp_path / "big.svg")]) == 2
    err = capsys.readouterr().err
    assert f"at most {MAX_ELEMENTS:,}" in err and "(1000, 1000, 1000)" in err
    assert not (tmp_path / "big.svg").exists()


# -- conventions -------------------------------------------------------------------------------


def test_dash_output_writes_only_the_picture_to_stdout(capsys):
    assert main(["draw", "3*(a + b*c)", "a=5", "b=3", "c=2", "-o", "-"]) == 0
    printed = capsys.readouterr()
    tree = ET.fromstring(printed.out.encode("utf-8"))  # stdout is one SVG document
    assert "grad: 9" in [text.text for text in tree.iter(SVG + "text")]
    assert printed.err.splitlines() == ["f = 33", "df/da = 3", "df/db = 6", "df/dc = 9"]


def test_python_dash_m_compgraph_draws_to_stdout():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "compgraph",
            "draw",
            "a*b",
            "a=2",
            "b=3",
            "-o",
            "-",
            "--format",
            "png",
        ],
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"\x89PNG")
    assert done.stderr.decode().splitlines() == ["f = 6", "df/da = 3", "df/db = 2"]
    version = subprocess.run(
        [sys.executable, "-m", "compgraph", "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and version.stdout.startswith("compgraph ")


def drawn_texts(capsys, *options):
    argv = ["draw", "sum(x * w) - b", "x=[1, 2]", "w=[3, 4]", "b=0.5", "-o", "-", *options]
    assert main(argv) == 0
    out = capsys.readouterr().out
    return [text.text for text in ET.fromstring(out.encode("utf-8")).iter(SVG + "text")]


def test_draw_exposes_the_librarys_drawing_options(capsys):
    everything = drawn_texts(capsys)
    assert "x" in everything and "(2,) float64" in everything
    assert any(t.startswith("value:") for t in everything)
    assert any(t.startswith("grad:") for t in everything)
    assert everything[0] == "sum(x * w) - b"  # the formula is the default title
    assert not any(t.startswith("value:") for t in drawn_texts(capsys, "--no-value"))
    assert not any(t.startswith("grad:") for t in drawn_texts(capsys, "--no-grad"))
    assert "x" not in drawn_texts(capsys, "--no-name")
    assert "(2,) float64" not in drawn_texts(capsys, "--no-shape")
    assert "×" not in drawn_texts(capsys, "--no-op")
    assert drawn_texts(capsys, "--title", "my model")[0] == "my model"
    assert "gradient (RMS), log scale" in drawn_texts(capsys, "--color-by", "grad")
    capped = drawn_texts(capsys, "--max-nodes", "3")
    assert any("more nodes not drawn (max_nodes=3" in t for t in capped)


def test_draw_rankdir(capsys):
    for direction in ("TB", "LR"):
        argv = ["draw", "a*b", "a=2", "b=3", "-o", "-", "--format", "dot", "--rankdir", direction]
        assert main(argv) == 0
        assert f"rankdir={direction}" in capsys.readouterr().out


@pytest.mark.parametrize("value", ["0", "-3", "100000", "many"])
def test_max_nodes_must_be_a_sensible_number(capsys, value):
    assert main(["draw", "a", "a=1", "-o", "-", "--max-nodes", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--max-nodes" in err


def test_a_mistyped_command_suggests_the_closest(capsys):
    assert main(["drwa", "a", "a=1"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'drwa'" in err and "did you mean 'draw'?" in err
    assert err.count("\n") == 1


# -- robustness --------------------------------------------------------------------------------

ROBUSTLY_REFUSED = [
    # an integer argument given as a float, here one too large for C
    ("sum(a, axis=(1e20,))", ["a=[1, 2]"], "sum(): axis must be an int or a tuple of ints"),
    ("sum(a, axis=0.5)", ["a=[1, 2]"], "axis must be an int or a tuple of ints, not 0.5"),
    ("sum(a, axis=(10**30,))", ["a=[1, 2]"], "at column 1 (sum(a, axis=(10**30,)))"),
    ("mean(a, keepdims=0.5)", ["a=[1, 2]"], "keepdims must be an int"),
    # operands passed by keyword get the element cap too
    (
        "sum(add(x=reshape(a, (3000, 1)), y=a))",
        ["a=" + str(list(range(3000)))],
        "shape (3000, 3000) (9,000,000 elements)",
    ),
    (
        "sum(mul(y=a, x=reshape(a, (3000, 1))))",
        ["a=" + str(list(range(3000)))],
        "at most 1,000,000",
    ),
    # getitem with repeated integer indices: the result is the index's size times a row
    (
        "sum(getitem(reshape(x, (1, 50000)), [" + "0," * 399 + "0]))",
        ["x=" + str([0] * 50000)],
        "shape (400, 50000) (20,000,000 elements)",
    ),
    ("sum(a, axis=2**100)", ["a=[1, 2]"], "axis must be an int or a tuple of ints, not a Node"),
]


@pytest.mark.parametrize(("formula", "variables", "message"), ROBUSTLY_REFUSED)
def test_more_bad_formulas_exit_2_with_one_line(tmp_path, capsys, formula, variables, message):
    out = tmp_path / "g.svg"
    assert main(["draw", "-o", str(out), "--", formula, *variables]) == 2
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err.count("\n") == 1, printed.err
    assert printed.err.startswith("compgraph draw: error")
    assert message in printed.err
    assert not out.exists()


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("sum(sum(x, axis=1+0) * [1, 10])", "f = 156"),  # rows: 6 and 15
        ("sum(sum(reshape(x, (2**1, 3 * 1)), axis=-1+1) * [1, 10, 100])", "f = 975"),
        ("sum(sum(transpose(x, axes=(0+1, 1-1)), axis=2-1) * [1, 10, 100])", "f = 975"),
    ],
)
def test_integer_arithmetic_works_where_an_integer_is_expected(tmp_path, capsys, formula, expected):
    argv = ["draw", formula, "x=[[1, 2, 3], [4, 5, 6]]", "-o", str(tmp_path / "g.svg")]
    status = main(argv)
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert printed.out.splitlines()[0] == expected


def test_integer_arithmetic_keeps_numbers_in_the_graph_exact(capsys):
    assert main(["draw", "a * (2**3 - 1)", "a=2", "-o", "-", "--format", "dot"]) == 0
    printed = capsys.readouterr()
    assert printed.err.splitlines()[:2] == ["f = 14", "df/da = 7"]


def test_non_finite_assignments_warn_on_one_line(tmp_path, capsys):
    assert main(["draw", "a * 2", "a=nan", "-o", str(tmp_path / "g.svg")]) == 0
    printed = capsys.readouterr()
    assert printed.out.splitlines()[0] == "f = nan"
    lines = printed.err.splitlines()
    assert lines and all(line.startswith("compgraph draw: warning: ") for line in lines), lines
    assert ".py" not in printed.err  # no file path and source line, as Python's warnings show


def test_a_long_chain_of_powers_is_drawn_capped(tmp_path, capsys):
    out = tmp_path / "g.svg"
    formula = "a**" * 300 + "a"  # 901 characters: 301 values, every pow uses a
    assert main(["draw", formula, "a=1", "-o", str(out), "--engine", "graphviz-pure"]) == 0
    assert any("more nodes not drawn" in text for text in svg_texts(out))


def test_a_failed_draw_keeps_the_old_file(tmp_path, capsys):
    out = tmp_path / "g.pdf"
    out.write_bytes(b"old picture")
    argv = ["draw", "a", "a=1", "-o", str(out), "--engine", "graphviz-pure"]  # no pdf there
    assert main(argv) == 1
    assert "cannot draw" in capsys.readouterr().err
    assert out.read_bytes() == b"old picture"
    assert [p.name for p in tmp_path.iterdir()] == ["g.pdf"]


def test_a_slow_layout_names_the_commands_own_options(tmp_path, monkeypatch, capsys):
    from compgraph.pictures import drawing as viz

    program = tmp_path / "slow-dot"
    program.write_text("#!/bin/sh\nsleep 5\n", encoding="utf-8")
    program.chmod(0o755)
    monkeypatch.setattr(viz, "layout_program", lambda engine=None: str(program))
    argv = ["draw", "a*b", "a=1", "b=2", "-o", str(tmp_path / "g.svg"), "--timeout", "0.2"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "more than 0.2 s" in err
    assert "--max-nodes N, --no-value, --timeout, --memory-limit" in err


@pytest.mark.parametrize(("option", "value"), [("--timeout", "0"), ("--memory-limit", "-1")])
def test_limits_must_be_positive(capsys, option, value):
    assert main(["draw", "a", "a=1", "-o", "-", option, value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err


def test_the_memory_limit_reaches_the_layout_program(capsys):
    argv = ["draw", "a*b", "a=1", "b=2", "-o", "-", "--engine", "graphviz-pure"]
    assert main([*argv, "--memory-limit", "1"]) == 1  # 1 MiB: not even enough to start
    assert "compgraph draw: cannot draw standard output" in capsys.readouterr().err
    assert main([*argv, "--memory-limit", "512"]) == 0


# -- smaller crashes (issue 25): each is one clear line -------------------------------------


def run_compgraph(*arguments, encoding="utf-8", cwd=None):
    """``python -m compgraph`` with a standard output and error in ``encoding`` (cp1252:
    Windows' console), as bytes."""
    import os

    return subprocess.run(
        [sys.executable, "-m", "compgraph", *arguments],
        capture_output=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "PYTHONIOENCODING": encoding},
    )


@pytest.mark.parametrize("command", ["draw", "animate"])
def test_a_formula_that_is_not_utf_8_is_one_line_exit_2(command, capsys):
    # What Python makes of the bytes b"a\xff" in a command line: a lone surrogate.
    assert main([command, "a\udcff", "a=1", "-o", "-"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"compgraph {command}: error")
    assert "not UTF-8" in err and "\\xff" in err and "Traceback" not in err


def test_bytes_that_are_not_utf_8_from_a_real_command_line(tmp_path):
    done = subprocess.run(
        [sys.executable.encode(), b"-m", b"compgraph", b"draw", b"a\xff", b"a=1"],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stderr.count(b"\n") == 1 and b"Traceback" not in done.stderr


def test_animate_to_stdout_on_a_cp1252_console_writes_utf_8(tmp_path):
    done = run_compgraph("animate", "α*2", "α=1", "-o", "-", encoding="cp1252", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode("cp1252", "replace")
    page = done.stdout.decode("utf-8")
    assert page.startswith("<!DOCTYPE html>") and "α" in page and "←" in page


@pytest.mark.parametrize("command", ["draw", "animate"])
def test_non_ascii_names_on_a_cp1252_console_do_not_crash(command, tmp_path):
    out = tmp_path / ("g.svg" if command == "draw" else "p.html")
    done = run_compgraph(command, "α*β", "α=2", "β=3", "-o", str(out), encoding="cp1252")
    assert done.returncode == 0, done.stderr.decode("cp1252", "replace")
    assert b"Traceback" not in done.stderr and out.exists()
    if command == "draw":  # the names cp1252 lacks are escaped, the numbers are there
        assert "df/d\\u03b1 = 3" in done.stdout.decode("cp1252")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--max-nodes", "0"], "--max-nodes must be a whole number from 1"),
        (["--max-nodes", "x"], "--max-nodes must be a whole number from 1"),
        (["--max-nodes", "3"], "has 7 nodes, more than --max-nodes 3"),
    ],
)
def test_animates_messages_name_its_flags(arguments, message, tmp_path, capsys):
    assert main(["animate", "a*2*3*4", "a=1", "-o", str(tmp_path / "p.html"), *arguments]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert "max_nodes" not in err and "None" not in err


def test_a_failed_write_names_the_path_asked_for(tmp_path, capsys):
    from compgraph.files import write_atomically

    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    target = not_a_folder / "graph.svg"
    with pytest.raises(NotADirectoryError) as raised:
        write_atomically(target, "data")
    assert raised.value.filename == str(target) and ".tmp" not in str(raised.value)
    for command, name in [("draw", "graph.svg"), ("animate", "p.html")]:
        assert main([command, "a*2", "a=1", "-o", str(not_a_folder / name)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(not_a_folder / name) in err and ".tmp" not in err
