"""`dunbot queue approve ID [--edit FILE]`, `queue reject ID`, `queue snooze ID DURATION`.

The command line is trusted: no token is needed. Approving queues the draft in the outbox
(sent once, at the next `sync --once` or by the running daemon); an edited text replaces the
draft's body unless it mentions another customer's order or name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.adapters.store import SqlOutbox
from bot.cli.common import EXIT_ERROR, handles_bot_errors, load, open_store
from bot.cli.queue import queue_app
from bot.core.approval import parse_duration
from bot.errors import InputError
from bot.services.approve import Answer, Outcome, approve, reject, snooze

DraftId = Annotated[str, typer.Argument(help="The draft's id, as `dunbot queue list` shows it.")]


def _now() -> datetime:
    return datetime.now(UTC)


def _report(answer: Answer) -> None:
    if answer.outcome is Outcome.REFUSED:
        typer.echo(f"error: {answer.detail}", err=True)
        raise typer.Exit(EXIT_ERROR)
    typer.echo(answer.detail)


@queue_app.command("approve")
@handles_bot_errors
def approve_command(
    ctx: typer.Context,
    draft_id: DraftId,
    edit: Annotated[
        Path | None,
        typer.Option("--edit", help="A UTF-8 text file sent instead of the draft's body."),
    ] = None,
) -> None:
    """Approve a draft: it goes to the outbox and is sent once."""
    body = _read_edit(edit) if edit else None
    config = load(ctx)
    with open_store(ctx, config) as store:
        mailbox = config.mailbox(store.get_draft(draft_id).mailbox)
        answer = approve(store, SqlOutbox(store), mailbox, draft_id, now=_now(), body=body)
    _report(answer)


@queue_app.command("reject")
@handles_bot_errors
def reject_command(ctx: typer.Context, draft_id: DraftId) -> None:
    """Skip a draft: nothing is sent; the planner decides again later."""
    with open_store(ctx) as store:
        _report(reject(store, draft_id))


@queue_app.command("snooze")
@handles_bot_errors
def snooze_command(
    ctx: typer.Context,
    draft_id: DraftId,
    duration: Annotated[str, typer.Argument(help="How long: 5h, 3d, 2w.")],
) -> None:
    """Put a draft aside; its orders are planned again after DURATION."""
    span = parse_duration(duration)
    if span is None:
        raise InputError(f"{duration!r} is not a duration like 5h, 3d or 2w (at most 180d)")
    with open_store(ctx) as store:
        _report(snooze(store, draft_id, span, now=_now()))


def _read_edit(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the edited text: {exc}") from exc
    if not text.strip():
        raise InputError(f"{path}: the edited text is empty")
    return text if text.endswith("\n") else text + "\n"
