"""`dunbot simulate [--rules DIR] [--since DATE] [--until DATE] [--json]`: try rules on the past.

Reads the stored orders and conversations (never writes them) and replays them day by day under
the given rules (default: the configured ones), printing what would have been sent and when,
as a timeline per order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from bot.adapters.scheduler import load_ruleset
from bot.cli.common import handles_bot_errors, load, open_store, print_json
from bot.cli.main import app
from bot.core.decision import Event, events_from_records
from bot.errors import InputError
from bot.services.simulate import Happening, replay


@app.command("simulate")
@handles_bot_errors
def simulate(
    ctx: typer.Context,
    rules: Annotated[
        Path | None, typer.Option("--rules", help="Rules folder to try (default: the config's).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="First day (ISO date; default: first message).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Last day (ISO date or time; default: now).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Replay the stored conversations under a set of rules: what would have gone out, when."""
    config = load(ctx)
    ruleset = load_ruleset(rules or config.rules)
    with open_store(ctx, config) as store:
        orders = store.list_orders()
        histories = {
            o.order_id: events_from_records(store.messages_for_order(o.order_id)) for o in orders
        }
    zone = ZoneInfo(config.timezone)
    start = parse_day(since, zone) if since else _first(histories, zone)
    end = parse_day(until, zone, end=True) if until else datetime.now(UTC)
    happenings = replay(
        orders, histories, ruleset, since=start, until=end, default_tz=config.timezone
    )
    if as_json:
        print_json(
            {
                "since": start.isoformat(),
                "until": end.isoformat(),
                "rules": str(rules or config.rules),
                "happenings": [h.as_json() for h in happenings],
            }
        )
        return
    typer.echo(timeline(happenings, start, end))


def parse_day(text: str, zone: ZoneInfo, *, end: bool = False) -> datetime:
    """An ISO date (start of day; end of day for --until) or time; no offset: the config's zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{text!r}: not an ISO 8601 date like 2026-03-05") from exc
    if end and len(text) <= 10:
        value += timedelta(days=1) - timedelta(seconds=1)
    return value if value.tzinfo else value.replace(tzinfo=zone)


def _first(histories: dict[str, list[Event]], zone: ZoneInfo) -> datetime:
    times = [e.at for events in histories.values() for e in events]
    first = min(times) if times else datetime.now(UTC)
    return datetime.combine(first.astimezone(zone).date(), datetime.min.time(), zone)


def timeline(happenings: list[Happening], start: datetime, end: datetime) -> str:
    """Per order, in time order: when, what, which rule, to whom, why."""
    lines = [f"simulated {start:%Y-%m-%d} .. {end:%Y-%m-%d}: {len(happenings)} happening(s)"]
    by_order: dict[str, list[Happening]] = {}
    for h in happenings:
        for order_id in h.order_ids:
            by_order.setdefault(order_id, []).append(h)
    for order_id in sorted(by_order):
        lines.append(f"order {order_id} ({by_order[order_id][0].customer_email})")
        for h in by_order[order_id]:
            merged = f" (one mail with {', '.join(h.order_ids)})" if len(h.order_ids) > 1 else ""
            mail = f" {h.template} [{h.language}] {h.mode}" if h.template else ""
            lines.append(f"  {h.at.isoformat()}  {h.action} {h.rule_id}{mail}{merged}")
            lines.append(f"      why: {h.reason}")
    return "\n".join(lines)
