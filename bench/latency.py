"""Latency of the loop under `dunbot run` (IDLE), on real Dovecot + Postfix.

Starts its own mailstack in a temp dir (root, Debian; tests/mailstack/mailstack), writes rules
whose send window is open all day (00:00-23:59, no avoided days), imports one order per round
with its proforma invoice in the salesperson's Sent folder, and starts `dunbot run` (a short
tick). Then, per round:

- A: the customer answers the invoice ("our cash flow is tight"): the time from the SMTP
  hand-off of that reply until the draft's approval request is in the approver's INBOX;
- B: the approver answers `approve` (plain SMTP, to the request's Reply-To): the time from
  that hand-off until the follow-up is in the customer's mailbox (the sink, by Delivered-To).

Both times include Postfix's delivery by LMTP and Dovecot's IDLE push, so they are what a
person would see. Prints the median and the 95th percentile of each (target: p95 < 3 s).

    python bench/latency.py --rounds 100
"""

from __future__ import annotations

import argparse
import email
import email.policy
import email.utils
import os
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from imapclient import IMAPClient

from bot.adapters.store import SqlStore
from bot.core.calendar import is_business_day
from bot.core.model import Order
from tests.fixtures.mail import PASSWORD_ENV, MailStack, MailUser, dispose, start_stack
from tests.test_loop_e2e import KEY, KEY_ENV, open_rules, write_config

POLL = 0.01  # seconds between looks at the target mailbox
WARMUP = 1  # rounds not counted: the daemon's first classification loads dateparser & co.


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


class Watch:
    """A logged-in IMAP connection that waits for a message matching a search."""

    def __init__(self, stack: MailStack, user: MailUser) -> None:
        self.client = IMAPClient("127.0.0.1", port=stack.imap_port, ssl=False, timeout=30)
        self.client.login(user.address, user.password)
        self.client.select_folder("INBOX", readonly=True)

    def wait(self, criteria: list[str], timeout: float = 30.0) -> tuple[float, bytes]:
        """(monotonic time it was seen, the message) for the first match."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.client.noop()
            uids = self.client.search(criteria)
            if uids:
                seen = time.monotonic()
                data = self.client.fetch(uids[:1], ["RFC822"])
                return seen, bytes(data[uids[0]][b"RFC822"])
            time.sleep(POLL)
        raise TimeoutError(f"nothing matched {criteria} within {timeout}s")


def send(stack: MailStack, msg: EmailMessage, to: str, sender: str) -> float:
    with smtplib.SMTP("127.0.0.1", stack.smtp_port, timeout=30) as smtp:
        smtp.sendmail(sender, [to], msg.as_bytes())
    return time.monotonic()


def setup(stack: MailStack, tmp: Path, rounds: int) -> tuple[MailUser, MailUser, Path, list[str]]:
    sales, approver = stack.add_user("latsales"), stack.add_user("latboss")
    database = f"sqlite:///{tmp / 'dunbot.db'}"
    config = write_config(
        tmp / "dunbot.yaml",
        stack,
        sales,
        approver,
        database=database,
        rules=open_rules(tmp / "rules"),
        mailbox_extra="    rate_limit_per_minute: 1000",
    )
    store = SqlStore.open(database)
    now = datetime.now(UTC)
    ids = [f"PO-L{n:04d}" for n in range(rounds + WARMUP)]
    country = working_country(now)
    store.upsert_orders(
        Order(
            order_id=order_id,
            customer_email=f"buyer-{order_id.lower()}@customer.invalid",
            customer_name=f"Buyer {order_id}",
            amount=Decimal(5000),
            currency="USD",
            due_date=None,
            mailbox="sales",
            country=country,
            timezone="UTC",
        )
        for order_id in ids
    )
    store.close()
    for order_id in ids:
        pi = EmailMessage()
        pi["From"] = sales.address
        pi["To"] = f"buyer-{order_id.lower()}@customer.invalid"
        pi["Subject"] = f"Proforma invoice {order_id}"
        pi["Date"] = email.utils.format_datetime(now)
        pi["Message-ID"] = f"<pi-{order_id.lower()}@example.test>"
        pi.set_content(f"Dear buyer,\nplease find the proforma invoice {order_id}.\nAlice\n")
        stack.append(sales, "Sent", pi.as_bytes())
    return sales, approver, config, ids


def working_country(now: datetime) -> str | None:
    """A customer country whose calendar makes today (UTC) a working day, so that answers are
    due at once on most weekdays (Sunday works in Israel and Saudi Arabia). None: no listed
    country works today (a Saturday); the answers then wait and the bench times out."""
    for country in ("US", "IL", "SA", "AE", "NP"):
        if is_business_day(now.date(), country):
            return country
    return None


def reply_of(order_id: str, sales: MailUser) -> EmailMessage:
    msg = EmailMessage()
    buyer = f"buyer-{order_id.lower()}@customer.invalid"
    msg["From"] = f"Buyer <{buyer}>"
    msg["To"] = sales.address
    msg["Subject"] = f"Re: Proforma invoice {order_id}"
    msg["Date"] = email.utils.format_datetime(datetime.now(UTC))
    msg["Message-ID"] = f"<reply-{order_id.lower()}@customer.invalid>"
    msg["In-Reply-To"] = f"<pi-{order_id.lower()}@example.test>"
    msg.set_content(
        "Hi Alice,\nour cash flow is tight at the moment, can we discuss the payment terms?\nBob\n"
    )
    return msg


def approval_of(request: bytes, approver: MailUser) -> EmailMessage:
    original = email.message_from_bytes(request, policy=email.policy.default)
    msg = EmailMessage()
    msg["From"] = approver.address
    msg["To"] = str(original["Reply-To"])
    msg["Subject"] = f"Re: {original['Subject']}"
    msg["Message-ID"] = email.utils.make_msgid(domain="example.test")
    msg["In-Reply-To"] = str(original["Message-ID"])
    msg.set_content("approve\n")
    return msg


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--tick-seconds", type=float, default=2.0)
    args = parser.parse_args()
    stack = start_stack()
    tmp = Path(tempfile.mkdtemp(prefix="dunbot-latency-"))
    daemon: subprocess.Popen[bytes] | None = None
    try:
        sales, approver, config, ids = setup(stack, tmp, args.rounds)
        env = {**os.environ, PASSWORD_ENV: sales.password, KEY_ENV: KEY}
        log = (tmp / "daemon.log").open("wb")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run",
             "--tick-seconds", str(args.tick_seconds), "--poll-seconds", "30"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )
        approver_box = Watch(stack, approver)
        sink = Watch(stack, MailUser(stack.env["SINK_USER"], stack.env["SINK_PASSWORD"]))
        time.sleep(3.0)  # the first pass plans every order (none is due yet)
        to_draft: list[float] = []
        to_customer: list[float] = []
        for n, order_id in enumerate(ids):
            buyer = f"buyer-{order_id.lower()}@customer.invalid"
            sent = send(stack, reply_of(order_id, sales), sales.address, buyer)
            seen, request = approver_box.wait(["SUBJECT", order_id])
            if n >= WARMUP:
                to_draft.append(seen - sent)
            sent = send(stack, approval_of(request, approver), sales.address, approver.address)
            seen, _ = sink.wait(["HEADER", "Delivered-To", buyer])
            if n >= WARMUP:
                to_customer.append(seen - sent)
            if n and n % 10 == 0:
                print(f"  {n} rounds: last A {to_draft[-1]:.2f}s, B {to_customer[-1]:.2f}s", flush=True)
        for name, values in (
            ("A: customer reply -> approval request at the approver", to_draft),
            ("B: approval -> follow-up at the customer", to_customer),
        ):
            print(
                f"{name}: n={len(values)} median {statistics.median(values):.2f}s "
                f"p95 {percentile(values, 0.95):.2f}s max {max(values):.2f}s"
            )
        return 0
    except Exception:
        lines = (tmp / "daemon.log").read_text(errors="replace").splitlines()
        print("\n".join([x for x in lines if " 0 new, 0 " not in x and "planned 0 " not in x][-60:]), file=sys.stderr)
        raise
    finally:
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
        dispose(stack)


if __name__ == "__main__":
    raise SystemExit(main())
