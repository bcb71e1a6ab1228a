"""The root typer app, the global --config option, and error reporting."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
    config: Annotated[
        Path,
        typer.Option(
            "--config", envvar="DUNBOT_CONFIG", help="Configuration file (default ./dunbot.yaml, or $DUNBOT_CONFIG)."
        ),
    ] = Path("dunbot.yaml"),
) -> None:
    ctx.obj = config
