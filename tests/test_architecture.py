"""The house rules that keep the core pure, checked on every test run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "bot" / "core"
REACHING_OUT = re.compile(r"datetime\.now\(|datetime\.utcnow\(|time\.time\(|os\.environ|open\(")


def test_import_contracts_hold() -> None:
    """import-linter: layers point down; bot.core imports no I/O library, adapter or service."""
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(linter)], capture_output=True, text=True, check=False, cwd=CORE.parent.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_core_reads_no_clock_environment_or_files() -> None:
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(CORE.glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if REACHING_OUT.search(line) and not line.lstrip().startswith("#")
    ]
    assert offenders == []
