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


def test_the_demo_runs():
    script = readme_commands()[0].split(".venv/bin/python ")[-1]
    result = subprocess.run(
        [sys.executable, str(ROOT / script)], capture_output=True, text=True, timeout=300, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "dJ/da = 3" in result.stdout and "dJ/dc = 9" in result.stdout
