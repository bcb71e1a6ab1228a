"""`dunbot orders ...`: import from CSV, list, show, mark paid / pause / resume, unbounce."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.adapters.store import AuditEntry, BouncedContact
from bot.cli.common import handles_bot_errors, load, open_store, print_json
from bot.cli.main import app
from bot.config import Config
from bot.core.model import Order, OrderStatus
from bot.core.orders_csv import parse_orders_csv
from bot.errors import InputError
from bot.ports import MessageRecord

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]
orders_app = typer.Typer(
    help="Orders: import a CSV, list, show, mark paid, pause, resume, unbounce.",
    no_args_is_help=True,
)
app.add_typer(orders_app, name="orders")


@orders_app.command("import")
@handles_bot_errors
def import_orders(
    ctx: typer.Context, file: Annotated[Path, typer.Argument(help="Orders CSV file.")]
) -> None:
    """Add new orders and update known ones (their status is kept)."""
    try:
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{file}: cannot read: {exc}") from exc
    config = load(ctx)
    found = parse_orders_csv(text, str(file))
    _check_mailboxes(found, config, file)
    with open_store(ctx, config) as store:
        created, updated = store.upsert_orders(found)
    typer.echo(f"{file}: {created} created, {updated} updated")


def _check_mailboxes(found: list[Order], config: Config, file: Path) -> None:
    known = {m.name for m in config.mailboxes}
    for order in found:
        if order.mailbox and order.mailbox not in known:
            names = ", ".join(sorted(known)) or "none configured"
            raise InputError(
                f"{file}: order {order.order_id}: mailbox {order.mailbox!r} "
                f"is not in the config (known: {names})"
            )


@orders_app.command("list")
@handles_bot_errors
def list_orders(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every order with its status."""
    with open_store(ctx) as store:
        found = store.list_orders()
    if as_json:
        print_json([order_json(o) for o in found])
        return
    table = Table("order", "customer", "amount", "due", "status", "mailbox")
    for o in found:
        due = o.due_date.isoformat() if o.due_date else "-"
        table.add_row(
            o.order_id,
            o.customer_email,
            f"{o.amount} {o.currency}",
            due,
            o.status.value,
            o.mailbox or "-",
        )
    Console().print(
        table if found else "no orders yet; add some with `dunbot orders import FILE.csv`"
    )


@orders_app.command("show")
@handles_bot_errors
def show_order(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(help="Order number.")],
    as_json: JsonFlag = False,
) -> None:
    """One order with its conversation (oldest first), the customer's addresses that bounced
    (no follow-up goes to them), and its audit trail."""
    with open_store(ctx) as store:
        order = store.get_order(order_id)
        history = store.messages_for_order(order_id)
        bounced = store.bounced_contacts(order.customer_email)
        trail = store.audit_log(order_id)
    if as_json:
        print_json(
            {
                **order_json(order),
                "bounced": [b.as_json() for b in bounced],
                "messages": [message_json(m) for m in history],
                "audit": [audit_json(a) for a in trail],
            }
        )
        return
    _print_order(order, history, trail, bounced)


def _print_order(
    order: Order,
    history: list[MessageRecord],
    trail: list[AuditEntry],
    bounced: list[BouncedContact],
) -> None:
    due = order.due_date.isoformat() if order.due_date else "no due date"
    typer.echo(
        f"{order.order_id}  {order.status.value}  {order.amount} {order.currency}  due {due}"
    )
    typer.echo(f"customer: {order.customer_name} <{order.customer_email}>")
    for b in bounced:
        status = f" ({b.status})" if b.status else ""
        typer.echo(
            f"bounced: {b.email}{status} on {b.bounced_at.isoformat(timespec='minutes')}: "
            f"no follow-up goes to it; `dunbot orders unbounce {order.order_id} {b.email}` "
            "when it works again"
        )
    for m in history:
        when = m.date.isoformat(timespec="minutes") if m.date else "undated"
        what = (
            f" [{m.understanding.kind.value}/{m.understanding.intent.value}]"
            if m.understanding
            else ""
        )
        typer.echo(f"  {when} {m.direction.value:>3} {m.sender}: {m.subject}{what}")
    for a in trail:
        typer.echo(f"  {a.at.isoformat(timespec='seconds')} {a.event}: {a.detail}")


def order_json(order: Order) -> dict[str, object]:
    return {
        "order_id": order.order_id,
        "status": order.status.value,
        "customer_email": order.customer_email,
        "customer_name": order.customer_name,
        "amount": str(order.amount),
        "currency": order.currency,
        "due_date": order.due_date.isoformat() if order.due_date else None,
        "language": order.language,
        "country": order.country,
        "timezone": order.timezone,
        "mailbox": order.mailbox,
        "contacts": [{"email": c.email, "name": c.name, "role": c.role} for c in order.contacts],
    }


def message_json(m: MessageRecord) -> dict[str, object]:
    out: dict[str, object] = {
        "message_id": m.message_id,
        "direction": m.direction.value,
        "date": m.date.isoformat() if m.date else None,
        "subject": m.subject,
        "from": m.sender,
        "to": list(m.recipients),
        "match_reason": m.match_reason,
    }
    if m.understanding:
        u = m.understanding
        out.update(
            kind=u.kind.value,
            intent=u.intent.value,
            language=u.language or None,
            promised_date=u.date.isoformat() if u.date else None,
        )
    return out


def audit_json(a: AuditEntry) -> dict[str, object]:
    return {"at": a.at.isoformat(), "event": a.event, "detail": a.detail}


def _set_status(ctx: typer.Context, order_id: str, status: OrderStatus, reason: str) -> None:
    with open_store(ctx) as store:
        old = store.get_order(order_id).status
        store.set_order_status(order_id, status, reason=reason)
    typer.echo(f"{order_id}: {old.value} -> {status.value}")


Reason = Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")]


@orders_app.command("paid")
@handles_bot_errors
def mark_paid(ctx: typer.Context, order_id: str, reason: Reason = "") -> None:
    """The money arrived: no more follow-ups."""
    _set_status(ctx, order_id, OrderStatus.PAID, reason or "marked paid on the command line")


@orders_app.command("pause")
@handles_bot_errors
def pause(ctx: typer.Context, order_id: str, reason: Reason = "") -> None:
    """Stop follow-ups for now (e.g. you are talking on the phone)."""
    _set_status(ctx, order_id, OrderStatus.PAUSED, reason or "paused on the command line")


@orders_app.command("resume")
@handles_bot_errors
def resume(ctx: typer.Context, order_id: str, reason: Reason = "") -> None:
    """Follow up again on a paused order."""
    _set_status(ctx, order_id, OrderStatus.OPEN, reason or "resumed on the command line")


@orders_app.command("unbounce")
@handles_bot_errors
def unbounce(
    ctx: typer.Context,
    order_id: Annotated[str, typer.Argument(help="Order number (any order of the customer).")],
    address: Annotated[str, typer.Argument(help="The address that works again.")],
) -> None:
    """An address that bounced works again: follow-ups may go to it (a human reply from it
    clears it too). The customer's open orders are planned again at the next sync."""
    with open_store(ctx) as store:
        cleared = store.clear_bounced(order_id, address, by="the command line")
    if not cleared:
        raise InputError(
            f"order {order_id}: {address} is not flagged as bounced; "
            f"see `dunbot orders show {order_id}`"
        )
    typer.echo(f"{order_id}: {address.strip().lower()} works again")
