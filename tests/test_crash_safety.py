"""Crash safety of the outbox on real Postfix + Dovecot.

- kill -9: a loop of runs (at least 50; DUNBOT_CRASH_RUNS sets more) where a subprocess running
  `send_due` kills itself with SIGKILL at a named failpoint (before SMTP, after the server
  accepted, after the APPEND to Sent, inside the transaction that marks it sent) or after a
  random delay (anywhere, also mid-DATA or mid-APPEND); later runs and a final drain pick the
  rows up. Every approved draft must be in the customer's mailbox (the sink) exactly once, and
  in Sent exactly once.
- Postfix stopped, then started: the outbox retries and drains with nothing lost or doubled.

This file is also the worker: `python tests/test_crash_safety.py CONFIG` runs one pass, with
DUNBOT_FAILPOINT naming the point to die at, DUNBOT_KILL_AFTER a delay in seconds to die after,
and DUNBOT_LEASE the lease in seconds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

POINTS = ("before_smtp", "after_smtp", "after_append", "before_commit")
LEASE = 2.0  # seconds: a killed worker's row is picked up again after this
ROOT = Path(__file__).resolve().parent.parent


# ---- the worker (runs in a subprocess) ---------------------------------------------------------


def _failpoint(name: str) -> None:
    time.sleep(random.uniform(0, 0.03))  # random delays between the steps
    if os.environ.get("DUNBOT_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def worker(config_path: Path) -> int:
    from bot.adapters.imap import ImapMailbox
    from bot.adapters.smtp import SmtpSender, SmtpSettings
    from bot.adapters.store import SqlOutbox, SqlStore
    from bot.config import load_config
    from bot.daemon import imap_settings
    from bot.services.outbox import OutboxPolicy, send_due

    kill_after = os.environ.get("DUNBOT_KILL_AFTER")
    if kill_after:
        timer = threading.Timer(float(kill_after), os.kill, (os.getpid(), signal.SIGKILL))
        timer.daemon = True
        timer.start()
    if os.environ.get("DUNBOT_TEST_BREAK_RECOVERY"):  # the negative check: a test must catch it
        import bot.services.outbox as service

        service._already_sent = lambda run, item: False
    config = load_config(config_path)
    mailbox = config.mailboxes[0]
    policy = OutboxPolicy(
        lease=timedelta(seconds=float(os.environ.get("DUNBOT_LEASE", LEASE))),
        first_retry=timedelta(seconds=0.2),
        max_retry=timedelta(seconds=1),
        max_attempts=1000,
        per_window=10_000,
    )
    store = SqlStore.open(config.database)
    try:
        with ImapMailbox(imap_settings(mailbox)) as imap:
            report = send_due(
                SqlOutbox(store),
                mailbox,
                SmtpSender(SmtpSettings.from_config(mailbox.name, mailbox.smtp)),
                imap,
                now=datetime.now(UTC),
                owner=f"pid-{os.getpid()}",
                policy=policy,
                failpoint=_failpoint,
            )
    finally:
        store.close()
    print(f"sent={len(report.sent)} found={len(report.found)} retrying={len(report.retrying)}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(worker(Path(sys.argv[1])))


# ---- the tests ---------------------------------------------------------------------------------

from bot.adapters.store import SqlOutbox, SqlStore
from bot.config import load_config
from bot.ports import OutboxState
from bot.services.outbox import queue_draft
from tests.fixtures.mail import MailStack, MailUser, config_env, write_config
from tests.test_outbox import add_order, customer, make_draft, sink


def run_worker(config: Path, env: dict[str, str], **extra: str) -> int:
    done = subprocess.run(
        [sys.executable, __file__, str(config)],
        env={**os.environ, **env, "DUNBOT_LEASE": str(LEASE), **extra},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"worker failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.returncode


def drain(config: Path, env: dict[str, str], store: SqlStore, rounds: int = 15) -> None:
    """Run clean workers until nothing is queued or sending (waiting out leases and backoff)."""
    outbox = SqlOutbox(store)
    for _ in range(rounds):
        open_items = [
            i for i in outbox.items() if i.state in (OutboxState.QUEUED, OutboxState.SENDING)
        ]
        if not open_items:
            return
        time.sleep(LEASE + 0.2)
        run_worker(config, env)
    left = [
        (i.message_id, i.state.value, i.last_error)
        for i in outbox.items()
        if i.state is not OutboxState.SENT
    ]
    raise AssertionError(f"the outbox did not drain: {left}")


def copies(
    stack: MailStack, user: MailUser, folder: str, message_ids: list[str], delivered_to: str | None
) -> Counter[str]:
    client = stack.imap(user)
    try:
        client.select_folder(folder, readonly=True)
        counts: Counter[str] = Counter()
        for message_id in message_ids:
            criteria = ["HEADER", "Message-ID", f"<{message_id}>"]
            if delivered_to:
                criteria += ["HEADER", "Delivered-To", delivered_to]
            counts[message_id] = len(client.search(criteria))
        return counts
    finally:
        client.logout()


def wait_for_all(
    stack: MailStack, buyer: str, message_ids: list[str], timeout: float = 30
) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        counts = copies(stack, sink(stack), "INBOX", message_ids, buyer)
        if all(counts[m] >= 1 for m in message_ids) or time.monotonic() > deadline:
            time.sleep(1.0)  # a late duplicate would show up now
            return copies(stack, sink(stack), "INBOX", message_ids, buyer)
        time.sleep(0.3)


@pytest.fixture
def bot_setup(
    tmp_path: Path, mailstack: MailStack, mail_user: MailUser
) -> tuple[Path, dict[str, str], SqlStore]:
    config = write_config(
        tmp_path / "dunbot.yaml",
        mailstack,
        mail_user,
        database=f"sqlite:///{tmp_path / 'dunbot.db'}",
    )
    return config, config_env(mail_user), SqlStore.open(str(load_config(config).database))


def test_kill_9_at_every_point_of_sending_delivers_each_draft_exactly_once(
    mailstack: MailStack, mail_user: MailUser, bot_setup: tuple[Path, dict[str, str], SqlStore]
) -> None:
    config, env, store = bot_setup
    seed = int(os.environ.get("DUNBOT_CRASH_SEED", random.randrange(1 << 30)))
    runs = max(50, int(os.environ.get("DUNBOT_CRASH_RUNS", "60")))
    rng = random.Random(seed)
    mailbox = load_config(config).mailboxes[0]
    buyer = customer()
    order = add_order(store, "PO-900", buyer)
    outbox = SqlOutbox(store)
    message_ids: list[str] = []
    killed: Counter[str] = Counter()
    try:
        for n in range(runs):
            draft = make_draft(order, n=n)
            assert queue_draft(outbox, draft, mailbox, now=datetime.now(UTC))
            message_ids.append(draft.message_id)
            how = rng.choice((*POINTS, "timer", "timer", "none"))
            extra = {"DUNBOT_FAILPOINT": how} if how in POINTS else {}
            if how == "timer":
                extra["DUNBOT_KILL_AFTER"] = f"{rng.uniform(0.0, 0.6):.3f}"
            if run_worker(config, env, **extra) == -signal.SIGKILL:
                killed[how] += 1
            time.sleep(rng.uniform(0, 0.3))
        drain(config, env, store)
        sink_counts = wait_for_all(mailstack, buyer, message_ids)
        sent_counts = copies(mailstack, mail_user, "Sent", message_ids, None)
    finally:
        store.close()
    context = f"seed {seed}, kills {dict(killed)}"
    print(f"crash loop: {runs} runs, {context}")
    assert {m: c for m, c in sink_counts.items() if c != 1} == {}, context
    assert {m: c for m, c in sent_counts.items() if c != 1} == {}, context
    assert all(killed[p] >= 1 for p in POINTS), context  # every point was really hit
    assert sum(killed.values()) >= runs // 2, context


def test_postfix_stopped_then_started_drains_with_nothing_lost(
    tmp_path: Path, private_mailstack: MailStack
) -> None:
    stack = private_mailstack
    user = stack.add_user()
    config = write_config(
        tmp_path / "dunbot.yaml", stack, user, database=f"sqlite:///{tmp_path / 'dunbot.db'}"
    )
    env = config_env(user)
    store = SqlStore.open(str(load_config(config).database))
    mailbox = load_config(config).mailboxes[0]
    postfix = ["postfix", "-c", str(stack.dir / "etc" / "postfix")]
    buyer = customer()
    order = add_order(store, "PO-901", buyer)
    outbox = SqlOutbox(store)
    drafts = [make_draft(order, n=n) for n in range(5)]
    try:
        for draft in drafts:
            queue_draft(outbox, draft, mailbox, now=datetime.now(UTC))
        subprocess.run([*postfix, "stop"], check=True, capture_output=True)
        time.sleep(0.5)
        run_worker(config, env)
        items = outbox.items()
        assert all(
            i.state is OutboxState.QUEUED and i.attempts == 1 and i.last_error for i in items
        ), items
        subprocess.run([*postfix, "start"], check=True, capture_output=True)
        wait_listening(stack.smtp_port)
        drain(config, env, store)
    finally:
        store.close()
    ids = [d.message_id for d in drafts]
    assert set(wait_for_all(stack, buyer, ids).values()) == {1}
    assert set(copies(stack, user, "Sent", ids, None).values()) == {1}


def wait_listening(port: int, timeout: float = 10) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {timeout}s")
