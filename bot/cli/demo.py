"""`dunbot demo`: the whole product on the embedded defaults, no servers needed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.cli.common import handles_bot_errors
from bot.cli.main import app
from bot.demo.run import DemoResult, run_demo


@app.command("demo")
@handles_bot_errors
def demo(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the demo's database, mailbox and mail.")
    ] = Path("dunbot-demo"),
    days: Annotated[
        int, typer.Option("--days", min=1, max=365, help="How many simulated days to play.")
    ] = 63,
) -> None:
    """Play a scripted story over simulated weeks: five customers, five ways of not paying yet."""
    console = Console()
    console.print(
        f"[bold]dunbot demo[/bold]: {days} simulated days, everything written to {out}/\n"
    )

    def say(when: datetime, who: str, what: str) -> None:
        console.print(
            f"[dim]{when:%a %Y-%m-%d %H:%M} UTC[/dim]  [cyan]{who:<12}[/cyan] {what}",
            highlight=False,
            soft_wrap=True,
        )

    try:
        result = run_demo(out, days=days, say=say)
    except FileExistsError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    _summary(console, result)


def _summary(console: Console, result: DemoResult) -> None:
    table = Table(title="\nOrders at the end of the demo")
    for column in ("order", "customer", "amount", "status"):
        table.add_column(column)
    for order in result.orders:
        table.add_row(
            order.order_id,
            order.customer_name,
            f"{order.amount} {order.currency}",
            order.status.value,
        )
    console.print(table)
    console.print(f"\n{len(result.drafts)} drafts written to {result.out_dir / 'drafts'}/")
    console.print(
        f"{len(result.sent)} messages delivered as .eml files under {result.out_dir / 'customers'}/"
    )
    console.print(f"the salesperson's mailbox (INBOX, Sent) is under {result.out_dir / 'mailbox'}/")
