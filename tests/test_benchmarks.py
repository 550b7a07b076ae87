"""benchmarks/run.py: every row computes what NumPy computes, and the tables say what was measured.

Nothing here times anything: the script's timings are its own business; these tests check
that what it times is the same computation everywhere, that its agreement check catches a
wrong one, and that its tables and targets are rendered from the measurements.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_benchmark():
    spec = importlib.util.spec_from_file_location("benchmark_run", ROOT / "benchmarks" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    saved = dict(os.environ)
    try:
        spec.loader.exec_module(module)
    finally:
        # The script pins thread counts for its own process; the rest of the suite keeps its.
        os.environ.clear()
        os.environ.update(saved)
    return module


bench = _load_benchmark()


def needs(name):
    if not bench.installed(name):
        pytest.skip(
            f"{name} needs the optional peer {bench.NEEDS[name]!r} (pip install -e '.[bench]')"
        )


@pytest.mark.parametrize("name", list(bench.STEP_BUILDERS))
def test_every_logistic_step_agrees_with_numpy(name):
    needs(name)
    data = bench.logistic_data(7, 40)
    steps = {"numpy": bench.numpy_step(*data), name: bench.STEP_BUILDERS[name](*data)}
    bench.check_agreement(steps)


def test_the_chain_rule_by_hand_divides_by_1_minus_A_as_the_lesson_graph_s_vjps_do():
    # Where σ(40) rounds to 1, log(1 - A)'s vjp is 0/0 for an engine without simplification,
    # while the lesson's A - Y is exactly 0: the floor row must be the former, not A - Y again.
    w, b, X, Y = np.full((1, 1), 40.0), 0.0, np.ones((1, 1)), np.ones((1, 1))
    with np.errstate(all="ignore"):
        _, by_hand_dw, _ = bench.chain_rule_step(w, b, X, Y)()
        _, lesson_dw, _ = bench.numpy_step(w, b, X, Y)()
    assert lesson_dw.item() == 0.0
    assert np.isnan(by_hand_dw.item())


def _off_by(step, factor):
    def wrong():
        cost, dw, db = step()
        return cost, dw * factor, db

    return wrong


def test_check_agreement_catches_a_gradient_off_by_a_thousandth_and_names_it():
    data = bench.logistic_data(5, 30)
    steps = {
        "numpy": bench.numpy_step(*data),
        "wrong": _off_by(bench.compgraph_fused_step(*data), 1.001),
    }
    with pytest.raises(AssertionError, match=r"check_agreement: wrong disagrees .* output #1"):
        bench.check_agreement(steps)


def test_check_agreement_catches_a_wrong_shape_and_a_missing_output():
    data = bench.logistic_data(5, 30)
    numpy_step = bench.numpy_step(*data)
    transposed = {"numpy": numpy_step, "T": lambda: (lambda c, w, b: (c, w.T, b))(*numpy_step())}
    with pytest.raises(AssertionError, match=r"shape \(1, 5\) vs \(5, 1\)"):
        bench.check_agreement(transposed)
    with pytest.raises(AssertionError, match="returned 2 results, numpy 3"):
        bench.check_agreement({"numpy": numpy_step, "short": lambda: numpy_step()[:2]})


def test_ratios_in_pairs_divides_medians_of_each_pair_including_the_extra_one(monkeypatch):
    # A fake clock that each run advances by its own cost: the bookkeeping, without timing.
    now = [0.0]
    monkeypatch.setattr(bench, "clock", lambda: now[0])

    def costing(seconds):
        def run():
            now[0] += seconds
            return ()

        return run

    runs = {"numpy": costing(2.0), "chain": costing(3.0), "engine": costing(4.5)}
    ratios = bench.ratios_in_pairs(runs, 4, extra_pairs=[("chain", "engine")])
    assert ratios == {"numpy": 2.0, "chain": 1.5, "engine": 2.25, "engine ÷ chain": 1.5}
    assert bench.ratios_in_pairs({"numpy": costing(2.0)}, 3) == {"numpy": 2.0}


@pytest.mark.parametrize("workload", list(bench.SCALAR_BUILDERS))
@pytest.mark.parametrize("name", ["compgraph", "micrograd", "torch"])
def test_every_scalar_graph_agrees_with_numpy_by_hand(workload, name):
    needs(name)
    builders = bench.SCALAR_BUILDERS[workload]
    bench.check_agreement({"numpy": builders["numpy"](300), name: builders[name](300)})


def test_micrograd_runs_chains_deeper_than_the_default_recursion_limit():
    needs("micrograd")
    limit = sys.getrecursionlimit()
    length = 2 * limit
    _, da = bench.micrograd_scalar_chain(length)()
    assert da == pytest.approx(length * 0.5 * 1.0000001 ** (length - 1), rel=1e-9)
    assert sys.getrecursionlimit() == limit  # restored


def test_gradient_descent_rows_reach_the_same_parameters():
    data = bench.logistic_data(6, 25)
    bench.check_agreement(
        {name: bench.gradient_descent(name, *data, 50) for name in bench.DESCENT_ROWS}
    )


def test_deep_chain_measures_compgraph_and_names_a_failing_child():
    seconds, bytes_per_node = bench.deep_chain("compgraph", 2000)
    assert seconds > 0 and bytes_per_node >= 0
    with pytest.raises(AssertionError, match="deep_chain: nosuchlibrary at 10 levels failed"):
        bench.deep_chain("nosuchlibrary", 10)


def test_load_summary_reports_the_load_averages_other_processes_and_the_note():
    text = bench.LoadMeter().summary("shared with other engineers")
    assert re.search(r"load average \d+\.\d\d before the run and \d+\.\d\d after", text)
    if bench.busy_cpu_seconds() is not None:  # Linux: /proc/stat
        assert re.search(r"other processes used \d+ CPU-seconds", text)
    assert text.endswith("; shared with other engineers")


def _results(fused_large, fused_small, versus_chain_rule, scalar_ratio):
    results = bench.Results(machine="test machine", quick=False, load="light")
    for n, m in bench.SHAPES:
        fused = fused_large if (n, m) in bench.LARGE_SHAPES else fused_small
        results.steps[bench.shape_label(n, m)] = {
            "numpy": 1e-3,
            "compgraph fused": fused,
            bench.VERSUS_CHAIN_RULE: versus_chain_rule,
        }
    results.iterations, results.descent = 20, {"numpy": 2.0, "compgraph fused": fused_large}
    for workload in bench.SCALAR_BUILDERS:
        results.scalars[workload] = {"compgraph": 2.0 * scalar_ratio, "micrograd": 2.0}
    results.levels = 1000
    results.deep = {"compgraph": (3.0, 390.0), "torch": (10.0, 700.0)}
    return results


def _verdicts(results):
    return {target: met for target, _, met in bench.targets(results)}


def test_targets_are_met_or_not_by_the_measured_ratios():
    met = _verdicts(_results(0.99, 1.9, 1.05, 0.5))
    assert met["fused step at 12288×209 ≤ 1.00x NumPy"] == "yes"
    assert met["fused step at 30×569 ≤ 2.00x NumPy"] == "yes"
    assert met["lesson's graph at 10×10⁶ ≤ 1.10x chain rule by hand"] == "yes"
    assert met["scalar chain: faster per op than micrograd"] == "yes"
    assert met["scalar chain: faster per op than torch"] == "–"  # torch not in this run
    assert met["1,000-level chain ≤ 0.60x torch's time"] == "yes"
    assert met["1,000-level chain ≤ 400 bytes per op"] == "yes"

    missed = _verdicts(_results(1.01, 2.1, 1.2, 1.0))
    assert missed["fused step at 1000×10000 ≤ 1.00x NumPy"] == "no"
    assert missed["fused step at 30×569 ≤ 2.00x NumPy"] == "no"
    assert missed["lesson's graph at 12288×209 ≤ 1.10x chain rule by hand"] == "no"
    assert missed["20 descent iterations, fused, ≤ 1.00x NumPy"] == "no"
    assert missed["reused value: faster per op than micrograd"] == "no"  # equal is not faster


def test_render_puts_every_measurement_and_the_load_in_the_tables():
    text = bench.render(_results(0.99, 1.9, 1.05, 0.5))
    assert "Load: light." in text
    assert (
        "| NumPy by hand (the lesson's dZ = A − Y) | 1.00 ms | 1.00 ms | 1.00 ms | 1.00 ms |"
        in text
    )
    assert "| compgraph fused (`sigmoid_cross_entropy`) | 0.99x | 0.99x | 0.99x | 1.90x |" in text
    assert "| compgraph | 3.00 | 390 | 0.30x |" in text
    assert "| scalar chain | – | 1.00 | 2.00 | – | 0.50x | – |" in text
    assert "autograd" not in text  # a row nobody measured is left out, not filled with dashes


def test_write_readme_replaces_only_the_results_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "README.md"
    path.write_text(f"intro\n{bench.BEGIN}\nold table\n{bench.END}\nafter\n", encoding="utf-8")
    bench.write_readme("new table", path)
    assert path.read_text(encoding="utf-8") == (
        f"intro\n{bench.BEGIN}\nnew table\n{bench.END}\nafter\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]

    path.write_text("no markers\n", encoding="utf-8")
    with pytest.raises(ValueError, match="write_readme: .* must hold"):
        bench.write_readme("new table", path)
    assert path.read_text(encoding="utf-8") == "no markers\n"


def test_a_quick_run_without_peers_writes_its_tables(tmp_path, monkeypatch, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"# Benchmarks\n{bench.BEGIN}\n{bench.END}\n", encoding="utf-8")
    monkeypatch.setattr(bench, "README", readme)
    monkeypatch.setattr(bench, "SHAPES", [(8, 30), (3, 50)])
    monkeypatch.setattr(bench, "LARGE_SHAPES", [(8, 30)])
    monkeypatch.setattr(bench, "DESCENT_SHAPE", (8, 30))
    monkeypatch.setattr(bench, "SCALAR_LENGTH", 50)
    tiny = bench.Settings(repeats=1, iterations=3, descent_repeats=1, levels=50, deep_repeats=1)
    monkeypatch.setattr(bench, "QUICK", tiny)
    bench.main(["--quick", "--no-peers", "--write", "--load-note", "a test run"])
    text = readme.read_text(encoding="utf-8")
    assert "(quick mode" in text and "a test run." in text
    for row in ("chain rule by hand, no simplification", "compgraph, the lesson's graph ÷"):
        assert row in text
    assert "torch fused" not in text and "MyGrad" not in text
    assert "| compgraph |" in text.split("**Deep chain**")[1]


def test_peers_are_imported_and_frozen_for_the_run_only(monkeypatch):
    """The run freezes import-time objects (see freeze_imports) and leaves no freeze behind."""
    import gc

    frozen_during = []
    monkeypatch.setattr(
        bench, "measure_and_report", lambda args, use: frozen_during.append(gc.get_freeze_count())
    )
    bench.main(["--quick", "--no-peers"])
    assert frozen_during[0] > 0 and gc.get_freeze_count() == 0


def test_each_library_pays_for_collecting_its_own_cyclic_garbage():
    import gc
    import weakref

    class Cycle:
        pass

    made = []

    def cyclic():  # as micrograd's graphs: garbage only the cyclic collector frees
        node = Cycle()
        node.me = node
        made.append(weakref.ref(node))

    alive_when_the_next_ran = []

    def other():
        alive_when_the_next_ran.append(any(ref() is not None for ref in made))

    gc.disable()  # only the harness's own collections may free the cycles
    try:
        bench.round_robin({"cyclic": cyclic, "other": other}, 4, own_garbage=True)
        assert alive_when_the_next_ran and not any(alive_when_the_next_ran)
        alive_when_the_next_ran.clear()
        bench.round_robin({"cyclic": cyclic, "other": other}, 4)
        assert any(alive_when_the_next_ran)  # without it, the next library would pay
    finally:
        gc.enable()


@pytest.mark.parametrize("name", list(bench.NETWORK_BUILDERS))
def test_every_week3_network_step_agrees_with_the_courses_numpy(name):
    needs(name)
    data = bench.network_data()
    bench.check_agreement(
        {"numpy": bench.NETWORK_BUILDERS["numpy"](*data), name: bench.NETWORK_BUILDERS[name](*data)}
    )


def test_the_compiled_scalar_chain_agrees_with_numpy_by_hand():
    bench.check_agreement(
        {"numpy": bench.numpy_scalar_chain(300), "compiled": bench.compiled_scalar_chain(300)}
    )


def test_compile_targets_are_checked_only_where_measured():
    results = _results(0.99, 1.9, 1.05, 0.5)
    assert not any("compiled" in target for target in _verdicts(results))
    shape = bench.shape_label(30, 569)
    results.steps[shape]["compgraph compiled"] = 1.1
    big = bench.shape_label(12288, 209)
    results.steps[big].update({"compgraph": 1.5, "compgraph compiled": 1.6})
    results.network = {"numpy": 1e-4, "compgraph compiled": 1.2, "jax.jit network": 2.0}
    results.compiled_chain, results.trace_steps = 0.1, 25.0
    met = _verdicts(results)
    assert met["compiled lesson step at 30×569 ≤ 1.20x NumPy"] == "yes"
    assert met["compiled lesson step at 12288×209 ≤ 1.02x eager"] == "no"
    assert met["compiled week-3 step ≤ 1.30x NumPy"] == "yes"
    assert met["compiled week-3 step faster than jax.jit"] == "yes"
    assert met["compiled scalar chain ≤ 0.10x micrograd per op"] == "yes"  # 0.1 / 2.0
    assert met["tracing a step < 20 eager steps"] == "no"
    text = bench.render(results)
    assert "| 0.100 ms | – | 1.20x | 2.00x |" in text
    assert "0.100 µs per op" in text


# -- the README quotes the table (issue 25) -----------------------------------------------------


def table_rows(text):
    """Each table row of the results section: its first cell -> its other cells."""
    results = text.split("<!-- results:begin -->", 1)[1].split("<!-- results:end -->", 1)[0]
    rows = {}
    for line in results.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and not set(cells[0]) <= set("-"):
            rows.setdefault(cells[0], cells[1:])
    return rows


def test_the_readme_quotes_the_benchmark_tables_numbers():
    rows = table_rows((ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8"))
    # Columns of the step table: 12288×209, 1000×10000, 10×10⁶, 30×569.
    fused = rows["compgraph fused (`sigmoid_cross_entropy`)"]
    torch = rows["torch fused (`binary_cross_entropy_with_logits`)"]
    chain = rows["scalar chain"]  # NumPy, compgraph, micrograd, torch (µs per op)
    deep = {name: rows[name] for name in ("compgraph", "torch", "mygrad")}
    expected = (
        f"a training step costs {fused[1]} the NumPy by hand at 1000×10000, {fused[0]} at "
        f"12288×209, {fused[2]} at 10×10⁶ and {fused[3]} at 30×569, where Python's per-op "
        f"overhead dominates (PyTorch fused: {torch[1]}, {torch[0]}, {torch[2]}, {torch[3]}); "
        f"a scalar op in a chain costs {chain[1]} µs forward and backward (micrograd "
        f"{chain[2]}, PyTorch {chain[3]}), and a chain of a million levels builds and "
        f"backpropagates in {deep['compgraph'][0]} s at {deep['compgraph'][1]} bytes per node "
        f"(PyTorch: {deep['torch'][0]} s, {deep['torch'][1]} bytes; MyGrad: "
        f"{deep['mygrad'][0]} s)."
    )
    compiled = rows["compgraph compiled, fused"]
    jax_row = rows["`jax.jit`, fused (log1p form)"]
    # The week-3 table's one row: NumPy's time, compgraph, compiled, jax.jit.
    week3 = re.search(
        r"\| NumPy by hand \| compgraph \| compgraph compiled \| `jax.jit` \|\n\|[-|]+\|\n"
        r"\| (.+?) \| (.+?) \| (.+?) \| (.+?) \|",
        (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8"),
    ).groups()
    expected_compiled = (
        f"Compiled (`cg.compile`), the 30×569 step costs {compiled[3]} and the week-3 "
        f"network's step {week3[2]} (`jax.jit`: {jax_row[3]} and {week3[3]})."
    )
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert expected in readme, expected
    assert expected_compiled in readme, expected_compiled


@pytest.mark.slow
@pytest.mark.parametrize("script", ["dask_logistic.py", "gpu.py"])
def test_the_backend_benchmarks_run_at_a_tiny_size(script):
    """benchmarks/dask_logistic.py and gpu.py run where their libraries are (gpu.py without a
    GPU says so and exits 0), so they do not rot between the runs that time them."""
    pytest.importorskip("dask")
    arguments = {
        "dask_logistic.py": ["--rows", "2000", "--features", "5", "--steps", "1"],
        "gpu.py": ["--repeats", "1"],
    }[script]
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *arguments],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    if script == "dask_logistic.py":
        assert "x NumPy" in result.stdout and "network [5, 20, 7, 1]" in result.stdout
