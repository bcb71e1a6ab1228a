"""What every command module shares: the config, the store, and BotErrors as one clear line.

    @orders_app.command("list")
    @handles_bot_errors
    def list_(ctx: typer.Context) -> None:
        with open_store(ctx) as store: ...

Any BotError (config, input, unknown order, database) prints `error: <message>` on stderr
and exits with status 2, without a traceback.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer

from bot.adapters.store import SqlStore
from bot.config import Config, load_config
from bot.errors import BotError

P = ParamSpec("P")
R = TypeVar("R")
EXIT_ERROR = 2


def config_path(ctx: typer.Context) -> Path:
    """The --config file (the root callback stores it in ctx.obj)."""
    obj = ctx.obj if ctx.obj is not None else ctx.find_root().obj
    return obj if isinstance(obj, Path) else Path(str(obj or "dunbot.yaml"))


def load(ctx: typer.Context) -> Config:
    """The validated configuration named by --config; ConfigError otherwise."""
    return load_config(config_path(ctx))


@contextmanager
def open_store(
    ctx: typer.Context, config: Config | None = None, *, now: datetime | None = None
) -> Iterator[SqlStore]:
    """The migrated store of the configured database, closed when the block ends. With `now`
    (a run as of a given time, `--now`) everything the store dates itself is dated then."""
    database = (config or load(ctx)).database
    store = SqlStore.open(database) if now is None else SqlStore.open(database, clock=lambda: now)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def fail_on_bot_error() -> Iterator[None]:
    """Turn a BotError into `error: ...` on stderr and exit status 2."""
    try:
        yield
    except BotError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_ERROR) from None


def handles_bot_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of fail_on_bot_error (keeps the signature typer reads)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with fail_on_bot_error():
            return command(*args, **kwargs)

    return wrapper


def print_json(value: object) -> None:
    """JSON on stdout, UTF-8 as is (customers write in many languages)."""
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
