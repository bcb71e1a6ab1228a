"""`dunbot sync --once` (one pass over every mailbox) and `dunbot run` (the daemon)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from bot.cli.common import EXIT_ERROR, handles_bot_errors, load, open_store
from bot.cli.main import app
from bot.daemon import (
    Daemon,
    DaemonOptions,
    build_loop,
    build_ticker,
    load_knowledge,
    loop_all,
    utcnow,
)
from bot.errors import InputError
from bot.services.ingest import ProgressFn

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def parse_now(value: str | None, zone: str) -> datetime:
    """--now as an aware datetime (naive times are in the config's time zone); the clock otherwise."""
    if value is None:
        return utcnow()
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InputError(
            f"--now {value!r}: not an ISO 8601 time like 2026-03-05T09:00+08:00"
        ) from exc
    if when.tzinfo is None:
        from zoneinfo import ZoneInfo

        when = when.replace(tzinfo=ZoneInfo(zone))
    return when


class _CliHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler this module installed, so a second command in-process replaces it."""


def setup_logging(verbose: bool, *, default: int = logging.WARNING) -> None:
    """dunbot's own log lines on the current stderr (not the root logger's: leave that to the host)."""
    logger = logging.getLogger("bot")
    for old in [h for h in logger.handlers if isinstance(h, _CliHandler)]:
        logger.removeHandler(old)
    handler = _CliHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else default)


@contextmanager
def progress_bar(enabled: bool | None) -> Iterator[ProgressFn | None]:
    """A rich progress bar on stderr, by default only when stderr is a terminal."""
    console = Console(stderr=True)
    if not (console.is_terminal if enabled is None else enabled):
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def advance(folder: str, done: int, total: int) -> None:
            if folder not in tasks:
                tasks[folder] = bar.add_task(f"fetching {folder}", total=total)
            bar.update(tasks[folder], completed=done, total=total)

        yield advance


@app.command("sync")
@handles_bot_errors
def sync(
    ctx: typer.Context,
    once: bool = typer.Option(
        False, "--once", help="One pass, then exit (required; `dunbot run` keeps going)."
    ),
    now: str | None = typer.Option(
        None, "--now", help="Run as of this ISO 8601 time (tests, replays)."
    ),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar (default: on a terminal)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what each folder did."),
) -> None:
    """One pass: fetch and understand new mail, act on approvers' answers, look again at waiting
    drafts, plan, mail new drafts to the approvers (or queue `mode: send` ones), send; then exit."""
    if not once:
        raise InputError("`dunbot sync` needs --once (use `dunbot run` for the daemon)")
    setup_logging(verbose)
    config = load(ctx)
    when = parse_now(now, config.timezone)
    knowledge = load_knowledge(config)
    with (
        open_store(ctx, config, now=None if now is None else when) as store,
        progress_bar(progress) as advance,
    ):
        loop = build_loop(config, store, knowledge)
        outcomes = loop_all(config, loop, now=when, progress=advance)
        ticks = [o.report.tick for o in outcomes if o.report is not None and o.report.tick]
        planned = ticks[0] if ticks else loop.tick(when)  # no mailbox ran: plan all the same
    for outcome in outcomes:
        if outcome.report is not None:
            sync_report = outcome.report.sync
            if sync_report is not None:
                typer.echo(f"{outcome.name}: {sync_report.summary()}")
            typer.echo(f"{outcome.name}: {outcome.report.summary()}")
        else:
            typer.echo(f"error: {outcome.error}", err=True)
    typer.echo(f"plan: {planned.summary()}")
    if any(o.error is not None for o in outcomes):
        raise typer.Exit(EXIT_ERROR)


@app.command("run")
@handles_bot_errors
def run(
    ctx: typer.Context,
    verbose: bool = typer.Option(
        True, "--verbose/--quiet", help="Log each pass (default) or only problems."
    ),
    tick_seconds: float = typer.Option(
        300.0, "--tick-seconds", min=1.0, help="Plan due orders at least this often."
    ),
    poll_seconds: float = typer.Option(
        60.0, "--poll-seconds", min=1.0, help="Longest IDLE wait (Sent is read then)."
    ),
) -> None:
    """The daemon: watch every mailbox (IDLE); after each new mail the whole loop runs at once
    (answers, look again, plan, approval requests, sending); stop on SIGTERM or Ctrl-C."""
    setup_logging(verbose, default=logging.WARNING)
    config = load(ctx)
    knowledge = load_knowledge(config)
    with open_store(ctx, config) as store:
        options = DaemonOptions(
            tick=build_ticker(config, store),
            tick_minutes=tick_seconds / 60.0,
            sent_poll=poll_seconds,
            loop=build_loop(config, store, knowledge),
        )
        Daemon(config, store, knowledge, options).run_forever()
