"""The command line of DESIGN.md: thin typer commands that call services.

Each command group lives in its own module and registers itself on `app` here.
"""

from __future__ import annotations

from bot.cli import classify as _classify  # noqa: F401
from bot.cli import demo as _demo  # noqa: F401
from bot.cli import init as _init  # noqa: F401
from bot.cli import orders as _orders  # noqa: F401
from bot.cli import plan as _plan  # noqa: F401
from bot.cli import queue as _queue  # noqa: F401
from bot.cli import queue_actions as _queue_actions  # noqa: F401
from bot.cli import rules as _rules  # noqa: F401
from bot.cli import simulate as _simulate  # noqa: F401
from bot.cli import sync as _sync  # noqa: F401
from bot.cli.main import app

__all__ = ["app"]
