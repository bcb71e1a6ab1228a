"""The pool's workers do not import a script's __main__ again (the `dunbot` console script
would bring the whole CLI into every worker), and they still parse and understand."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path

    with open(os.environ["MARKS"], "a") as marks:  # one line per process that runs this file
        marks.write(f"{__name__} {os.getpid()}\\n")

    from datetime import UTC, datetime

    from bot.adapters.rulefiles import read_rules_dir
    from bot.paths import DEFAULT_RULES_DIR
    from bot.ports import FetchedMessage
    from bot.services.ingest import Knowledge
    from bot.services.ingest_pool import worker_pool

    if __name__ == "__main__":
        rules = Knowledge.from_docs(read_rules_dir(DEFAULT_RULES_DIR)).understanding
        raw = b"From: Bob <bob@buyer.test>\\r\\nSubject: PO-4711\\r\\n\\r\\nWe paid PO-4711 today.\\r\\n"
        fetched = [FetchedMessage(uid, raw) for uid in range(1, 9)]
        with worker_pool(2, rules, frozenset(), datetime(2026, 1, 5, tzinfo=UTC), outgoing=False) as pool:
            done = list(pool(fetched))
        assert [o.item.uid for o in done] == list(range(1, 9)), done
        assert all(o.understanding is not None and o.understanding.intent == "paid" for o in done), done
        assert all(o.item.raw == raw for o in done)
        print("ok", getattr(sys.modules["__main__"], "__spec__", None))
    """
)


def test_workers_start_without_the_parents_script(tmp_path: Path) -> None:
    script, marks = tmp_path / "console_script.py", tmp_path / "marks"
    script.write_text(SCRIPT, encoding="utf-8")
    env = {**os.environ, "MARKS": str(marks), "PYTHONPATH": str(Path(__file__).parent.parent)}
    command = [sys.executable, str(script)]
    done = subprocess.run(
        command, check=False, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok None"  # __main__ is itself again afterwards
    assert [line.split()[0] for line in marks.read_text().splitlines()] == ["__main__"]
