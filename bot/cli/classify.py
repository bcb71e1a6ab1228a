"""`dunbot classify [--json] FILE.eml...`: what dunbot understands of each message.

Rules come from the config's rules folder when the --config file exists, else the shipped
defaults. With --json, one object per file and line (the keys of DESIGN.md plus "file");
without, a short readable summary. A file that cannot be read or parsed prints an object with
"error" (the reason the daemon would quarantine it); the others are still classified and the
exit status is 1 at the end. Relative dates resolve against each message's Date header; a
message without one gets no date (the command reads no clock).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bot.adapters.rulefiles import read_rules_dir
from bot.cli.common import config_path, fail_on_bot_error
from bot.cli.main import app
from bot.config import load_config
from bot.core.mime import parse_message
from bot.core.model import Understanding
from bot.core.understand import UnderstandingRules, classify
from bot.errors import MessageParseError
from bot.paths import DEFAULT_RULES_DIR


@app.command("classify")
def classify_command(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Messages to classify (.eml, RFC 5322).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Print kind, intent, language, date, order and reply text of each message."""
    with fail_on_bot_error():
        rules = UnderstandingRules.from_docs(read_rules_dir(_rules_dir(ctx)))
    failed = False
    for path in files:
        result = _one(path, rules)
        failed = failed or "error" in result
        typer.echo(json.dumps(result, ensure_ascii=False) if as_json else _summary(result))
    if failed:
        raise typer.Exit(1)


def _rules_dir(ctx: typer.Context) -> Path:
    path = config_path(ctx)
    return load_config(path).rules if path.is_file() else DEFAULT_RULES_DIR


def _one(path: Path, rules: UnderstandingRules) -> dict[str, object]:
    """The classify keys for one file, or {"file", "error"} when it cannot be understood."""
    try:
        raw = path.read_bytes()
        msg = parse_message(raw)
    except OSError as exc:
        return {"file": str(path), "error": f"cannot read: {exc.strerror or exc}"}
    except MessageParseError as exc:
        return {"file": str(path), "error": str(exc)}
    # No received_at: a message without a Date header gets no date, so output is reproducible.
    understanding: Understanding = classify(msg, rules)
    return {"file": str(path), **understanding.as_json()}


def _summary(result: dict[str, object]) -> str:
    if "error" in result:
        return f"{result['file']}: error: {result['error']}"
    head = f"{result['file']}: {result['kind']} / {result['intent']}"
    facts = [f"{key}={result[key]}" for key in ("language", "date", "order") if result.get(key)]
    if result.get("bounce_recipient"):
        facts.append(f"bounce={result['bounce_recipient']} {result.get('bounce_status') or ''}")
    text = str(result.get("reply_text") or "").strip().replace("\n", " ")
    snippet = f'\n    "{text[:117]}..."' if len(text) > 120 else (f'\n    "{text}"' if text else "")
    return f"{head} ({', '.join(facts)}){snippet}" if facts else f"{head}{snippet}"
