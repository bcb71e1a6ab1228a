"""The command line of DESIGN.md: thin typer commands that call services.

Each command group lives in its own module and registers itself on `app` here.
"""

from __future__ import annotations

from bot.cli.main import app

__all__ = ["app"]
