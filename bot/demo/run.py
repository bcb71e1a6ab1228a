"""`dunbot demo`: the whole loop over six simulated weeks, no servers needed.

Five customers of a Shenzhen supplier (bot/demo/story.yaml) go silent, promise, plead cash flow,
go on holiday, pay. The real pipeline runs on them: a local-folder mailbox stands in for IMAP,
SQLite for the store, the shipped rules and templates decide and write; a scripted salesperson
approves each draft and confirms payments, and the outbox "sends" into folders.
Everything lands in one directory: the database, the mailbox, the customers' mail as .eml files.
"""

from __future__ import annotations

import email
import email.policy
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.adapters.folder import FolderMailbox
from bot.adapters.store import SqlStore
from bot.config import Config, load_config
from bot.core.model import Direction, Draft, DraftStatus, Order, OrderStatus
from bot.daemon import build_loop, load_knowledge
from bot.paths import DEFAULT_RULES_DIR, DEFAULT_TEMPLATES_DIR
from bot.ports import Delivered, SendResult
from bot.services.loop import LoopReport

STORY = Path(__file__).with_name("story.yaml")
KEY_ENV = "DUNBOT_DEMO_APPROVAL_KEY"  # the demo signs its approval tokens with a key of its own
MARKER = ".dunbot-demo"
UTC = ZoneInfo("UTC")
TICK_HOURS = (1, 4, 7, 10, 13, 16, 19, 22)  # UTC: every customer's send window meets some of them

Say = Callable[[datetime, str, str], None]  # (when, who, what)


@dataclass(frozen=True, slots=True)
class StoryMessage:
    key: str
    at: datetime
    folder: str
    raw: bytes


@dataclass(slots=True)
class DemoResult:
    out_dir: Path
    sent: list[Path] = field(default_factory=list)
    drafts: list[Path] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)


class FolderSender:
    """bot.ports.Sender that 'delivers' into folders: the salesperson's own mail (approval
    requests, the outbox's journal copy) into the mailbox's INBOX, everyone else's under
    out_dir/customers/<address>/."""

    def __init__(self, out_dir: Path, mailbox: FolderMailbox, own: str) -> None:
        self.out_dir, self.mailbox, self.own = out_dir, mailbox, own
        self.delivered: list[Path] = []
        self.requests: list[bytes] = []  # approval requests, for the scripted salesperson

    def send_sync(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        for rcpt in recipients:
            if rcpt.lower() == self.own:
                self.mailbox.deliver("INBOX", raw)
                if BytesHeaderParser().parsebytes(raw)["Reply-To"]:  # only approval requests have one
                    self.requests.append(raw)
                continue
            folder = self.out_dir / "customers" / rcpt.lower()
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{len(list(folder.glob('*.eml'))) + 1:03d}.eml"
            path.write_bytes(raw)
            self.delivered.append(path)
        return Delivered(f"250 2.0.0 written to {len(recipients)} folder(s)")


def run_demo(out_dir: Path, *, days: int, say: Say) -> DemoResult:
    """Play the story for `days` days into out_dir (replaced if it holds an earlier demo)."""
    story = yaml.safe_load(STORY.read_text(encoding="utf-8"))
    os.environ.setdefault(KEY_ENV, secrets.token_hex(32))
    _fresh(out_dir)
    config = load_config(_write_config(out_dir, story["supplier"]))
    mailbox_cfg = config.mailboxes[0]
    start = date.fromisoformat(str(story["start"]))
    orders = [_order(row) for row in story["orders"]]
    messages = sorted(_story_messages(story, orders, start), key=lambda m: m.at)
    folder = FolderMailbox(out_dir / "mailbox")
    sender = FolderSender(out_dir, folder, mailbox_cfg.address)
    result = DemoResult(out_dir)
    with SqlStore.open(config.database) as store:
        store.upsert_orders(orders)
        say(_at(start, 0), "setup", f"{len(orders)} orders imported; rules from {config.rules}")
        world = _World(config, store, folder, sender, say, result)
        for when in _ticks(start, days):
            world.step(when, [m for m in messages if world.last < m.at <= when])
            world.last = when
        result.orders = store.list_orders()
    result.sent = sender.delivered
    return result


@dataclass
class _World:
    config: Config
    store: SqlStore
    folder: FolderMailbox
    sender: FolderSender
    say: Say
    result: DemoResult
    last: datetime = field(default_factory=lambda: datetime.min.replace(tzinfo=UTC))
    claimed: dict[str, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.loop = build_loop(self.config, self.store, load_knowledge(self.config))
        self.mailbox_cfg = self.config.mailboxes[0]

    def step(self, now: datetime, arriving: list[StoryMessage]) -> None:
        for message in arriving:
            self.folder.deliver(message.folder, message.raw)
        report = self.loop.run_mailbox(self.mailbox_cfg, self.folder, self.sender, now=now)
        for message in arriving:
            self._tell_understood(message)  # said at the message's own time, in UTC
        self._tell(report, now)
        self._answer_requests(now)
        self._confirm_payments(now)

    def _tell(self, report: LoopReport, now: datetime) -> None:
        for answer in report.answers:
            self.say(
                now, self._orders_of(answer.draft_id), f"dunbot read the approval: {answer.detail}"
            )
        for draft_id in report.requested:
            draft = self.store.get_draft(draft_id)
            self._keep(draft)
            self.say(
                now,
                ", ".join(draft.order_ids),
                f"draft '{draft.rule_id}' ({draft.language}) for {', '.join(draft.to)} mailed to the "
                f"approver: {draft.reason}",
            )
        for message_id in report.sent.sent if report.sent else []:
            self.say(now, "outbox", f"sent once: <{message_id}>")

    def _orders_of(self, draft_id: str | None) -> str:
        return ", ".join(self.store.get_draft(draft_id).order_ids) if draft_id else "?"

    def _answer_requests(self, now: datetime) -> None:
        """The salesperson answers each approval request from their mail client, like a person."""
        while self.sender.requests:
            request = email.message_from_bytes(
                self.sender.requests.pop(0), policy=email.policy.default
            )
            draft = self.store.get_draft(_draft_id(request))
            command = _salesperson_says(draft)
            self.folder.deliver("INBOX", _reply(request, command, now))
            shown = command.splitlines()[0] + (" (with an edited text)" if "\n" in command else "")
            self.say(
                now, ", ".join(draft.order_ids), f"salesperson replied to the request: {shown!r}"
            )

    def _keep(self, draft: Draft) -> None:
        path = self.result.out_dir / "drafts" / f"{draft.due_at:%Y%m%d-%H%M}-{draft.rule_id}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"To: {', '.join(draft.to)}\nSubject: {draft.subject}\n\n{draft.body}\n",
            encoding="utf-8",
        )
        self.result.drafts.append(path)

    def _tell_understood(self, message: StoryMessage) -> None:
        for record in self._records_with(message.key):
            if record.direction is Direction.OUT:
                self.say(message.at, record.order_id or "?", f"salesperson sent: {record.subject}")
                continue
            u = record.understanding
            if u is None:
                continue
            date_note = f", date {u.date.isoformat()}" if u.date else ""
            self.say(
                message.at,
                record.order_id or "unmatched",
                f"customer wrote ({u.language or '?'}): {u.kind.value}, intent {u.intent.value}{date_note}"
                f" — “{_gist(u.reply_text)}”",
            )

    def _records_with(self, key: str) -> Iterator[Any]:
        for order in self.store.list_orders():
            for record in self.store.messages_for_order(order.order_id):
                if record.message_id == f"{key}@demo.example":
                    yield record

    def _confirm_payments(self, now: datetime) -> None:
        """The salesperson checks the bank a day after a customer says it paid."""
        for order in self.store.list_orders(OrderStatus.CLAIMED_PAID):
            seen = self.claimed.setdefault(order.order_id, now)
            if now - seen >= timedelta(days=1):
                self.store.set_order_status(
                    order.order_id, OrderStatus.PAID, reason="money arrived (demo salesperson)"
                )
                self.say(
                    now, order.order_id, "salesperson confirmed: the money arrived; order paid"
                )


def _message_id(msg: EmailMessage) -> str:
    return "".join(str(msg["Message-ID"]).split()).strip("<>")  # long ids come folded


def _draft_id(request: EmailMessage) -> str:
    """The draft an approval request is about (its Message-ID is approval.<draft_id>.<...>@...)."""
    return _message_id(request).split(".")[1]


def _salesperson_says(draft: Draft) -> str:
    """The demo's salesperson: edits the cash-flow answer, snoozes one check-in, approves the rest."""
    if draft.rule_id == "answer-cash-flow" and draft.status is DraftStatus.PENDING:
        return f"--- edit below ---\n{draft.body.rstrip()}\n\nP.S. Half now and half by April 30 works for us.\n--- end ---"
    if draft.rule_id == "friendly-check-in" and draft.language == "zh":
        return "snooze 2d"
    return "好的" if draft.language == "zh" else "ok"


def _reply(request: EmailMessage, command: str, now: datetime) -> bytes:
    """What a mail client sends when the salesperson answers: to Reply-To, Re: subject, quoted."""
    msg = EmailMessage()
    msg["From"] = request["To"]
    msg["To"] = request["Reply-To"]
    msg["Subject"] = f"Re: {request['Subject']}"
    msg["Date"] = format_datetime(now + timedelta(minutes=20))
    msg["Message-ID"] = f"<answer.{_message_id(request)}>"
    msg["In-Reply-To"] = msg["References"] = f"<{_message_id(request)}>"
    body = request.get_body(("plain",))
    quoted = "\n".join(f"> {line}" for line in (body.get_content() if body else "").splitlines())
    msg.set_content(
        f"{command}\n\nOn {request['Date']}, dunbot wrote:\n{quoted}\n", charset="utf-8"
    )
    return msg.as_bytes()


def _fresh(out_dir: Path) -> None:
    if out_dir.exists():
        if not (out_dir / MARKER).exists():
            raise FileExistsError(
                f"{out_dir} exists and is not an earlier demo; choose another --out"
            )
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (out_dir / MARKER).write_text("written by `dunbot demo`; safe to delete\n", encoding="utf-8")


def _write_config(out_dir: Path, supplier: Mapping[str, str]) -> Path:
    path = out_dir / "dunbot.yaml"
    local = {
        "host": "127.0.0.1",
        "port": 993,
        "security": "ssl",
        "password_env": "DUNBOT_DEMO_UNUSED",
    }
    config = {
        "database": "sqlite:///demo.db",
        "timezone": supplier["timezone"],
        "rules": str(DEFAULT_RULES_DIR),
        "templates": str(DEFAULT_TEMPLATES_DIR),
        "approval_key_env": KEY_ENV,
        "mailboxes": [
            {
                "name": "sales",
                "address": supplier["address"],
                "imap": local,  # never contacted: the demo's mailbox is a folder
                "smtp": {**local, "port": 465},
                "approvers": [supplier["address"]],
                "manager": supplier["manager"],
                "sender_name": supplier["name"],
                "company": supplier["company"],
            }
        ],
    }
    path.write_text(
        "# The demo's configuration (see `dunbot init` for a commented one).\n"
        + yaml.safe_dump(config, allow_unicode=True),
        encoding="utf-8",
    )
    return path


def _order(row: Mapping[str, Any]) -> Order:
    return Order(
        order_id=row["order_id"],
        customer_email=row["customer_email"],
        customer_name=row["customer_name"],
        amount=Decimal(str(row["amount"])),
        currency=row["currency"],
        due_date=date.fromisoformat(str(row["due_date"])),
        language=row["language"],
        country=row["country"],
        timezone=row["timezone"],
        mailbox="sales",
    )


def _story_messages(
    story: Mapping[str, Any], orders: list[Order], start: date
) -> Iterator[StoryMessage]:
    by_id = {order.order_id: order for order in orders}
    supplier = story["supplier"]
    for item in story["messages"]:
        ours = item["from"] == "supplier"
        order = by_id[item["to"] if ours else item["from"]]
        zone = ZoneInfo(supplier["timezone"] if ours else order.timezone or "UTC")
        at = datetime.combine(start + timedelta(days=item["day"]), time(10, 30), zone).astimezone(
            UTC
        )
        sender = (
            formataddr((supplier["name"], supplier["address"]))
            if ours
            else formataddr((order.customer_name, order.customer_email))
        )
        rcpt = (
            formataddr((order.customer_name, order.customer_email)) if ours else supplier["address"]
        )
        yield StoryMessage(item["key"], at, item["folder"], _eml(item, sender, rcpt, at))


def _eml(item: Mapping[str, Any], sender: str, rcpt: str, at: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, rcpt, item["subject"]
    msg["Date"] = format_datetime(at)
    msg["Message-ID"] = f"<{item['key']}@demo.example>"
    if item.get("reply_to"):
        msg["In-Reply-To"] = msg["References"] = f"<{item['reply_to']}@demo.example>"
    if item.get("auto"):
        msg["Auto-Submitted"] = "auto-replied"  # RFC 3834
    msg.set_content(item["body"], charset="utf-8")
    if item.get("attach"):
        name = str(item["attach"])
        maintype, subtype = ("application", "pdf") if name.endswith(".pdf") else ("image", "jpeg")
        msg.add_attachment(
            b"\x00demo bank slip\x00" * 64, maintype=maintype, subtype=subtype, filename=name
        )
    return msg.as_bytes()


def _ticks(start: date, days: int) -> Iterator[datetime]:
    for day in range(days):
        for hour in TICK_HOURS:
            yield datetime.combine(start + timedelta(days=day), time(hour), UTC)


def _at(start: date, day: int) -> datetime:
    return datetime.combine(start + timedelta(days=day), time(0), UTC)


def _gist(text: str) -> str:
    """The reply text on one line, shortened for the timeline."""
    line = " ".join(text.split())
    return line if len(line) <= 90 else line[:87] + "..."
