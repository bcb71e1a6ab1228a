"""`dunbot queue list [--json]`: the drafts waiting for approval (approve/reject come later)."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import handles_bot_errors, open_store, print_json
from bot.cli.main import app
from bot.core.model import Draft, DraftStatus

queue_app = typer.Typer(help="The approval queue: drafts the planner made.", no_args_is_help=True)
app.add_typer(queue_app, name="queue")


def draft_json(d: Draft) -> dict[str, object]:
    return {
        "draft_id": d.draft_id,
        "order_ids": list(d.order_ids),
        "to": list(d.to),
        "cc": list(d.cc),
        "subject": d.subject,
        "due_at": d.due_at.isoformat(),
        "rule_id": d.rule_id,
        "template": d.template,
        "language": d.language,
        "mode": d.mode,
        "status": d.status.value,
        "message_id": d.message_id,
        "reason": d.reason,
    }


@queue_app.command("list")
@handles_bot_errors
def list_(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON array.")] = False,
) -> None:
    """Pending drafts: id, orders, recipients, subject, when due, rule, mode."""
    with open_store(ctx) as store:
        pending = store.list_drafts([DraftStatus.PENDING])
    if as_json:
        print_json([draft_json(d) for d in pending])
        return
    if not pending:
        typer.echo("no pending drafts")
    for d in pending:
        typer.echo(
            f"{d.draft_id}  {d.due_at:%Y-%m-%d %H:%M}Z  {','.join(d.order_ids)}  "
            f"to {', '.join(d.to)}  [{d.rule_id}, {d.mode}]  {d.subject}"
        )
