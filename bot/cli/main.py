"""The root typer app, the global --config option, and error reporting."""

from __future__ import annotations

import os
from pathlib import Path

import typer

app = typer.Typer(
    name="dunbot",
    help="dunbot: collects payment for confirmed orders by email, politely.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    config: Path = typer.Option(
        Path(os.environ.get("DUNBOT_CONFIG", "dunbot.yaml")),
        "--config",
        help="Configuration file (default ./dunbot.yaml, or $DUNBOT_CONFIG).",
    ),
) -> None:
    ctx.obj = config
