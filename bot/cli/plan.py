"""`dunbot plan ID [--at TIME] [--json]`: the next action for an order, when, and which rule."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from bot.adapters.rulefiles import read_doc
from bot.cli.common import handles_bot_errors, load, open_store, print_json
from bot.cli.main import app
from bot.core.decision import Decision
from bot.core.ruleset import Ruleset
from bot.errors import InputError
from bot.services.plan import plan_order


@app.command("plan")
@handles_bot_errors
def plan(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(help="The order id.")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="Plan as of this time (ISO 8601; no offset: config timezone)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """The next action for an order, when (in the customer's zone), and which rule decided."""
    config = load(ctx)
    now = parse_time(at, config.timezone) if at else datetime.now(UTC)
    ruleset = load_ruleset(config.rules)
    with open_store(ctx, config) as store:
        decision = plan_order(store, ruleset, order_id, now=now, default_tz=config.timezone)
    if as_json:
        print_json({"order_id": order_id, **decision.as_json()})
    else:
        typer.echo(describe(order_id, decision))


def load_ruleset(rules_dir: Path) -> Ruleset:
    """The follow-up rules of a rules folder (its default.yaml); RuleError names file:line."""
    return Ruleset.from_docs({"default": read_doc(rules_dir / "default.yaml")})


def parse_time(text: str, default_tz: str) -> datetime:
    """ISO 8601; a time without an offset is read in the configured zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(
            f"--at {text!r}: not an ISO 8601 time like 2026-03-05T10:00+01:00"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(default_tz))


def describe(order_id: str, d: Decision) -> str:
    """The decision for people: what, when, why, then the rule walk."""
    when = d.at.isoformat() if d.at else "-"
    lines = [
        f"order {order_id}: {d.action.value} at {when} (rule {d.rule_id})",
        f"  why: {d.reason}",
    ]
    if d.template:
        lines.append(
            f"  mail: {d.template} [{d.language}] mode {d.mode} to {', '.join(d.recipients)}"
        )
    lines += [f"  alert {a.to}: {a.why}" for a in d.alerts]
    lines += [f"  {'HIT ' if h.hit else 'miss'} {h.rule_id}: {h.why}" for h in d.hits]
    return "\n".join(lines)
