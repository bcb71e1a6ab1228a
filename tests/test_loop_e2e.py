"""The whole loop end to end on real Dovecot + Postfix, driven by `dunbot sync --once --now`:
an order goes silent, the approval request reaches the approver, a real mail client (s-nail)
answers, and the customer gets exactly one threaded follow-up (also in Sent), or nothing.
Forged answers (another sender, a reused token, a failing trusted Authentication-Results) send
nothing."""

from __future__ import annotations

import email
import email.policy
import os
import re
import secrets
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.adapters.store import SqlStore
from bot.cli import app
from bot.core.model import Draft, DraftStatus, Order
from bot.paths import DEFAULT_RULES_DIR
from tests.fixtures.mail import PASSWORD_ENV, MailStack, MailUser

KEY_ENV = "DUNBOT_TEST_APPROVAL_KEY"
APPROVER_PASSWORD_ENV = "DUNBOT_TEST_APPROVER_PASSWORD"
SNAIL = shutil.which("s-nail")


# ---- the world: a salesperson, an approver, a customer outside, one order --------------------


def open_rules(target: Path, *, mode: str = "draft") -> Path:
    """The default rules with the send window open all day and no avoided days (tests and the
    latency bench run at any hour); every ladder step in `mode`."""
    shutil.copytree(DEFAULT_RULES_DIR, target, dirs_exist_ok=True)
    path = target / "default.yaml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r'window: "[^"]*"', 'window: "00:00-23:59"', text)
    text = re.sub(r"avoid_first_working_day_of_week: true", "avoid_first_working_day_of_week: false", text)
    text = re.sub(r"avoid_first_days_of_month: \d+", "avoid_first_days_of_month: 0", text)
    text = re.sub(r"weekly_cap: \d+", "weekly_cap: 100", text)
    text = re.sub(r"min_gap: \w+", "min_gap: 0d", text)
    if mode != "draft":
        text = text.replace("mode: draft", f"mode: {mode}")
    path.write_text(text, encoding="utf-8")
    return target


@dataclass
class World:
    stack: MailStack
    sales: MailUser
    approver: MailUser
    customer: str  # outside the local domain: its copies land in the sink, by Delivered-To
    order_id: str
    config: Path
    database: str
    thread_id: str
    start: datetime

    def sync(self, at: datetime, *extra: str) -> str:
        """`dunbot --config ... sync --once --now at` in-process; its output."""
        result = CliRunner().invoke(
            app,
            ["--config", str(self.config), "sync", "--once", "--now", at.isoformat(), *extra],
            env=self.env(),
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return result.output

    def env(self) -> dict[str, str]:
        return {PASSWORD_ENV: self.sales.password, KEY_ENV: KEY}

    def store(self) -> SqlStore:
        return SqlStore.open(self.database)

    def drafts(self, *statuses: DraftStatus) -> list[Draft]:
        store = self.store()
        try:
            return store.list_drafts(statuses or None)
        finally:
            store.close()


KEY = "approval-key-for-the-e2e-tests-0123456789"


def write_config(
    path: Path,
    stack: MailStack,
    sales: MailUser,
    approver: MailUser,
    *,
    database: str,
    rules: Path,
    extra: str = "",
    mailbox_extra: str = "",
) -> Path:
    lines = [
        f"database: {database}",
        "timezone: UTC",
        f"rules: {rules}",
        f"approval_key_env: {KEY_ENV}",
        *([extra] if extra else []),
        "mailboxes:",
        "  - name: sales",
        f"    address: {sales.address}",
        (
            f"    imap: {{host: 127.0.0.1, port: {stack.imap_port}, security: none,"
            f" username: {sales.address}, password_env: {PASSWORD_ENV}}}"
        ),
        (
            f"    smtp: {{host: 127.0.0.1, port: {stack.smtp_port}, security: none,"
            f" username: {sales.address}, password_env: {PASSWORD_ENV}}}"
        ),
        "    folders: {inbox: INBOX, sent: Sent}",
        f"    approvers: [{approver.address}]",
        "    sender_name: Alice Chen",
        *([mailbox_extra] if mailbox_extra else []),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_world(
    stack: MailStack,
    tmp: Path,
    *,
    mode: str = "draft",
    extra: str = "",
    mailbox_extra: str = "",
    self_approve: bool = False,
) -> World:
    """Accounts, config, one order and the proforma invoice in the salesperson's Sent folder.
    `self_approve`: the salesperson approves their own drafts (one mailbox for everything)."""
    sales = stack.add_user()
    approver = sales if self_approve else stack.add_user()
    tag = secrets.token_hex(3).upper()
    order_id = f"PO-{tag}"
    buyer = f"buyer-{tag.lower()}@customer.invalid"
    database = f"sqlite:///{tmp / 'dunbot.db'}"
    config = write_config(
        tmp / "dunbot.yaml",
        stack,
        sales,
        approver,
        database=database,
        rules=open_rules(tmp / "rules", mode=mode),
        extra=extra,
        mailbox_extra=mailbox_extra,
    )
    store = SqlStore.open(database)
    try:
        order = Order(
            order_id=order_id,
            customer_email=buyer,
            customer_name="Bob Buyer",
            amount=Decimal("12500.00"),
            currency="USD",
            due_date=None,
            mailbox="sales",
            timezone="UTC",
        )
        store.upsert_orders([order])
    finally:
        store.close()
    # yesterday at noon: what a run does must not depend on the hour the tests run at
    start = (datetime.now(UTC) - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    invoice = EmailMessage()  # the salesperson's proforma invoice, which the customer ignores
    invoice["From"] = f"Alice Chen <{sales.address}>"
    invoice["To"] = f"Bob Buyer <{buyer}>"
    invoice["Subject"] = f"Proforma invoice {order_id}"
    invoice["Date"] = email.utils.format_datetime(start)
    invoice["Message-ID"] = f"<pi-{tag.lower()}@example.test>"
    invoice.set_content(f"Dear Bob,\nplease find the proforma invoice {order_id}.\nAlice\n")
    stack.append(sales, "Sent", invoice.as_bytes())
    return World(
        stack, sales, approver, buyer, order_id, config, database, f"pi-{tag.lower()}@example.test", start
    )


# ---- looking at mailboxes ------------------------------------------------------------------


def wait_count(
    stack: MailStack, user: MailUser, folder: str, want: int, *, timeout: float = 15.0
) -> int:
    deadline = time.monotonic() + timeout
    while (n := stack.count(user, folder)) < want and time.monotonic() < deadline:
        time.sleep(0.1)
    return n


def sink(stack: MailStack) -> MailUser:
    return MailUser(stack.env["SINK_USER"], stack.env["SINK_PASSWORD"])


def copies_for(stack: MailStack, user: MailUser, folder: str, *criteria: str) -> list[EmailMessage]:
    client = stack.imap(user)
    try:
        client.select_folder(folder, readonly=True)
        uids = client.search(list(criteria))
        fetched = client.fetch(uids, ["RFC822"]) if uids else {}
        return [
            email.message_from_bytes(data[b"RFC822"], policy=email.policy.default)
            for data in fetched.values()
        ]
    finally:
        client.logout()


def delivered_to(stack: MailStack, customer: str, *, settle: float = 1.0) -> list[EmailMessage]:
    """What the customer got (sink copies with Delivered-To: customer), after a short settle."""
    time.sleep(settle)
    return copies_for(stack, sink(stack), "INBOX", "HEADER", "Delivered-To", customer)


def wait_delivered(stack: MailStack, customer: str, want: int, timeout: float = 15.0) -> list[EmailMessage]:
    deadline = time.monotonic() + timeout
    while len(delivered_to(stack, customer, settle=0.0)) < want:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    time.sleep(0.8)  # a copy too many would show up now
    return delivered_to(stack, customer, settle=0.0)


def requests_to(world: World) -> list[EmailMessage]:
    return copies_for(world.stack, world.approver, "INBOX", "SUBJECT", "[dunbot:")


# ---- a real mail client ----------------------------------------------------------------------


def snail_reply(stack: MailStack, user: MailUser, text: str, *, number: int, home: Path) -> None:
    """s-nail reads `user`'s INBOX over IMAPS and answers message `number` through SMTP
    (STARTTLS + AUTH), quoting the original, as a salesperson would."""
    assert SNAIL is not None, "s-nail is not installed (mailstack install provides it)"
    who = urllib.parse.quote(user.address, safe="")
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            SNAIL, "-#", "-n",
            "-S", "v15-compat", "-S", "sendwait", "-S", "hold", "-S", "quote",
            "-S", "reply-to-honour=yes",
            "-S", "tls-ca-file=" + stack.env["MAIL_CA_CERT"],
            "-S", "password=" + user.password,
            "-S", "from=" + user.address,
            "-S", f"mta=smtp://{who}:{user.password}@localhost:{stack.smtp_port}",
            "-S", "smtp-use-starttls",
            "-f", f"imaps://{who}@localhost:{stack.env['IMAPS_PORT']}/INBOX",
        ],
        input=f"reply {number}\n{text}\n~.\nquit\n",
        capture_output=True,
        text=True,
        env={**os.environ, "HOME": str(home)},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def request_number(world: World) -> int:
    """The sequence number of the (last) approval request in the approver's INBOX."""
    client = world.stack.imap(world.approver)
    try:
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["SUBJECT", "[dunbot:"])
        all_uids = client.search(["ALL"])
        return sorted(all_uids).index(max(uids)) + 1
    finally:
        client.logout()


# ---- the scenarios ---------------------------------------------------------------------------


@pytest.fixture
def world(mailstack: MailStack, tmp_path: Path) -> Iterator[World]:
    yield make_world(mailstack, tmp_path)


def silent_for_a_week(world: World) -> tuple[datetime, Draft]:
    """`sync --once --now` a week later: one draft, mailed once to the approver."""
    at = world.start + timedelta(days=8)
    at += timedelta(days=-at.weekday() % 7)  # a Monday: the next days are working days too
    world.sync(at)
    pending = world.drafts(DraftStatus.PENDING)
    assert len(pending) == 1, world.drafts()
    assert wait_count(world.stack, world.approver, "INBOX", 1) == 1
    world.sync(at + timedelta(minutes=5))  # a second pass asks nobody twice
    time.sleep(0.5)
    assert len(requests_to(world)) == 1
    request = requests_to(world)[0]
    assert request["Auto-Submitted"] == "auto-generated"
    assert world.order_id in request.get_content()
    assert world.customer in request.get_content()
    return at, pending[0]


def assert_one_threaded_follow_up(world: World, draft: Draft, *, body: str | None = None) -> None:
    got = wait_delivered(world.stack, world.customer, 1)
    assert len(got) == 1, [m["Subject"] for m in got]
    mail = got[0]
    assert mail["Message-ID"] == f"<{draft.message_id}>"
    assert mail["In-Reply-To"] == f"<{world.thread_id}>"
    assert f"<{world.thread_id}>" in str(mail["References"])
    assert mail["Auto-Submitted"] is None  # so the customer's out-of-office still answers
    assert "[dunbot:" not in str(mail["Subject"]) and "Alice Chen" in str(mail["From"])
    text = mail.get_content()
    if body is not None:
        assert text.replace("\r\n", "\n").strip() == body.strip()
    sent = copies_for(world.stack, world.sales, "Sent", "HEADER", "Message-ID", draft.message_id)
    assert len(sent) == 1


def test_approve_by_reply_sends_one_threaded_follow_up(world: World, tmp_path: Path) -> None:
    at, draft = silent_for_a_week(world)
    snail_reply(world.stack, world.approver, "approve", number=1, home=tmp_path / "home")
    assert wait_count(world.stack, world.sales, "INBOX", 1) >= 1
    out = world.sync(at + timedelta(hours=1))
    assert "approved" in out or "queued" in out, out
    assert_one_threaded_follow_up(world, draft)
    assert [d.draft_id for d in world.drafts(DraftStatus.SENT)] == [draft.draft_id]
    world.sync(at + timedelta(hours=2))  # the same reply read again (or not): still one copy
    assert len(delivered_to(world.stack, world.customer)) == 1


def test_an_edited_text_is_sent_instead(world: World, tmp_path: Path) -> None:
    at, draft = silent_for_a_week(world)
    edit = "Dear Bob,\nany news on the deposit for our order? Thank you!\nAlice"
    text = f"--- edit below ---\n{edit}\n--- end ---\nThanks"
    snail_reply(world.stack, world.approver, text, number=1, home=tmp_path / "home")
    wait_count(world.stack, world.sales, "INBOX", 1)
    world.sync(at + timedelta(hours=1))
    assert_one_threaded_follow_up(world, draft, body=edit)


def test_skip_sends_nothing(world: World, tmp_path: Path) -> None:
    at, draft = silent_for_a_week(world)
    snail_reply(world.stack, world.approver, "skip", number=1, home=tmp_path / "home")
    wait_count(world.stack, world.sales, "INBOX", 1)
    world.sync(at + timedelta(hours=1))
    assert world.store().get_draft(draft.draft_id).status is DraftStatus.REJECTED
    assert delivered_to(world.stack, world.customer) == []
    assert world.stack.count(world.sales, "Sent") == 1  # the proforma invoice only


def test_snooze_holds_the_draft_then_plans_again(world: World, tmp_path: Path) -> None:
    at, draft = silent_for_a_week(world)
    snail_reply(world.stack, world.approver, "snooze 3d", number=1, home=tmp_path / "home")
    wait_count(world.stack, world.sales, "INBOX", 1)
    world.sync(at + timedelta(hours=1))
    assert world.store().get_draft(draft.draft_id).status is DraftStatus.SNOOZED
    world.sync(at + timedelta(days=2))  # still snoozed: nothing new, nothing sent
    assert len(requests_to(world)) == 1
    assert delivered_to(world.stack, world.customer) == []
    world.sync(at + timedelta(days=3, hours=2))  # over: planned again, a new request
    assert world.store().get_draft(draft.draft_id).status is DraftStatus.SUPERSEDED
    assert wait_count(world.stack, world.approver, "INBOX", 2) >= 2
    assert len(requests_to(world)) == 2
    assert delivered_to(world.stack, world.customer) == []


# ---- forgeries ---------------------------------------------------------------------------------


def token_of(request: EmailMessage) -> tuple[str, str]:
    """(Reply-To address, Subject) of an approval request."""
    return str(request["Reply-To"]), str(request["Subject"])


def forged(world: World, sender: str, text: str = "approve", **headers: str) -> EmailMessage:
    reply_to, subject = token_of(requests_to(world)[0])
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = reply_to
    msg["Subject"] = f"Re: {subject}"
    msg["Message-ID"] = f"<forged-{secrets.token_hex(6)}@evil.test>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(text + "\n")
    return msg


def test_forged_and_reused_approvals_send_nothing(world: World, tmp_path: Path) -> None:
    at, draft = silent_for_a_week(world)
    stack = world.stack
    stack.deliver(forged(world, "mallory@evil.test"), [world.sales.address], sender="mallory@evil.test")
    wait_count(stack, world.sales, "INBOX", 1)
    out = world.sync(at + timedelta(hours=1))
    assert "refused" in out, out
    assert world.store().get_draft(draft.draft_id).status is DraftStatus.PENDING
    assert delivered_to(stack, world.customer) == []
    # the approver is told (never the forger)
    assert wait_count(stack, world.approver, "INBOX", 2) >= 2

    # the real approval goes through once; the same token again changes nothing
    snail_reply(stack, world.approver, "approve", number=1, home=tmp_path / "home")
    wait_count(stack, world.sales, "INBOX", 2)
    world.sync(at + timedelta(hours=2))
    assert len(wait_delivered(stack, world.customer, 1)) == 1
    again = forged(world, world.approver.address)
    stack.deliver(again, [world.sales.address], sender=world.approver.address)
    wait_count(stack, world.sales, "INBOX", 4)
    out = world.sync(at + timedelta(hours=3))
    assert "refused" in out, out
    assert len(delivered_to(stack, world.customer)) == 1


def test_a_trusted_authentication_results_failure_sends_nothing(
    mailstack: MailStack, tmp_path: Path
) -> None:
    world = make_world(mailstack, tmp_path, extra="trusted_authserv_id: mx.example.test")
    at, draft = silent_for_a_week(world)
    approver = world.approver.address
    fail = forged(
        world,
        approver,
        Authentication_Results=f"mx.example.test; dmarc=fail header.from={approver.split('@')[1]}",
    )
    elsewhere = forged(  # a pass, but from a server that is not the trusted one
        world, approver, Authentication_Results="mx.evil.test; dmarc=pass; dkim=pass"
    )
    for msg in (fail, elsewhere):
        mailstack.deliver(msg, [world.sales.address], sender=approver)
    wait_count(mailstack, world.sales, "INBOX", 2)
    world.sync(at + timedelta(hours=1))
    assert world.store().get_draft(draft.draft_id).status is DraftStatus.PENDING
    assert delivered_to(mailstack, world.customer) == []
    # the control: the trusted server's pass lets the same approver's answer through
    good = forged(world, approver, Authentication_Results="mx.example.test; dkim=pass; dmarc=pass")
    mailstack.deliver(good, [world.sales.address], sender=approver)
    wait_count(mailstack, world.sales, "INBOX", 3)
    world.sync(at + timedelta(hours=2))
    assert len(wait_delivered(mailstack, world.customer, 1)) == 1


def test_a_salesperson_approving_in_their_own_mailbox(mailstack: MailStack, tmp_path: Path) -> None:
    """Request and answer both land in the sales INBOX: neither is taken for the customer's or
    the salesperson's mail to the customer (which would hold the draft)."""
    world = make_world(mailstack, tmp_path, self_approve=True)
    at, draft = silent_for_a_week(world)
    snail_reply(mailstack, world.sales, "ok", number=request_number(world), home=tmp_path / "home")
    wait_count(mailstack, world.sales, "INBOX", 2)
    out = world.sync(at + timedelta(hours=1))
    assert "0 held" in out, out
    assert_one_threaded_follow_up(world, draft)
    store = world.store()
    try:
        threaded = [m.message_id for m in store.messages_for_order(world.order_id)]
    finally:
        store.close()
    assert not any(m.startswith("approval.") for m in threaded)


def test_a_missing_approval_key_names_the_variable(mailstack: MailStack, tmp_path: Path) -> None:
    world = make_world(mailstack, tmp_path)
    result = CliRunner().invoke(
        app,
        ["--config", str(world.config), "sync", "--once", "--now", (world.start + timedelta(days=8)).isoformat()],
        env={PASSWORD_ENV: world.sales.password, KEY_ENV: ""},
    )
    assert result.exit_code != 0
    assert KEY_ENV in result.output
    assert world.stack.count(world.approver, "INBOX") == 0
