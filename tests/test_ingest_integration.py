"""Ingestion end to end: real Postfix + Dovecot on loopback, the real CLI, a real SQL store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.adapters.store import SqlStore
from bot.cli import app
from bot.core.mime import parse_message
from bot.errors import MessageParseError
from tests.fixtures.mail import MailStack, MailUser, config_env, write_config

CUSTOMER = "buyer@customer.test"


def message(msgid: str, subject: str, body: str, *, sender: str = CUSTOMER, to: str,
            reply_to: str | None = None, extra: str = "", hour: int = 10) -> bytes:
    head = [f"From: Bob Buyer <{sender}>", f"To: {to}", f"Subject: {subject}", f"Message-ID: <{msgid}>",
            f"Date: Tue, 03 Mar 2026 {hour:02d}:00:00 +0800", "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8"]
    if reply_to:
        head += [f"In-Reply-To: <{reply_to}>", f"References: <{reply_to}>"]
    return ("\r\n".join(head) + "\r\n" + extra + "\r\n" + body + "\r\n").encode()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


class Bot:
    """The dunbot CLI for one config; `cli` runs in-process, `spawn` as a real subprocess."""

    def __init__(self, config: Path, user: MailUser, database: str) -> None:
        self.config, self.env, self.database = config, config_env(user), database

    def cli(self, *args: str, ok: bool = True) -> str:
        result = CliRunner().invoke(app, ["--config", str(self.config), *args], env=self.env)
        if ok:
            assert result.exit_code == 0, f"dunbot {' '.join(args)}: {result.output}"
        return result.output

    def show(self, order_id: str) -> dict[str, object]:
        out = json.loads(self.cli("orders", "show", order_id, "--json"))
        assert isinstance(out, dict)
        return out

    def spawn(self, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, **self.env}
        cmd = [sys.executable, "-m", "bot", "--config", str(self.config), *args]
        return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def has(self, message_id: str) -> bool:
        with SqlStore.open(self.database) as store:
            return bool(store.known_message_ids("sales", [message_id]))

    def inbox_seen(self) -> bool:
        with SqlStore.open(self.database) as store:
            return store.folder_state("sales", "INBOX") is not None


def make_bot(tmp_path: Path, stack: MailStack, user: MailUser, database: str) -> Bot:
    config = write_config(tmp_path / "dunbot.yaml", stack, user, database=database)
    bot = Bot(config, user, database)
    csv = tmp_path / "orders.csv"
    csv.write_text(
        "order_id,customer_email,customer_name,amount,currency,due_date\n"
        f"PO-4711,{CUSTOMER},Bob Buyer,1200.00,USD,2026-03-01\n"
        "PO-5000,other@elsewhere.test,Other,10.00,EUR,2026-04-01\n",
        encoding="utf-8",
    )
    bot.cli("orders", "import", str(csv))
    return bot


def deliver_and_wait(stack: MailStack, user: MailUser, raws: list[bytes]) -> None:
    before = stack.count(user)
    for raw in raws:
        stack.deliver(raw, [user.address], sender=CUSTOMER)
    wait_until(lambda: stack.count(user) >= before + len(raws), 15, "Postfix to deliver")


@pytest.fixture
def stop_process() -> Iterator[Callable[[subprocess.Popen[str]], tuple[int, str]]]:
    procs: list[subprocess.Popen[str]] = []

    def stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
        procs.append(proc)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
        return proc.returncode, err

    yield stop
    for proc in procs:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_delivered_mail_is_in_the_order_after_sync_and_a_second_sync_adds_nothing(
    tmp_path: Path, mailstack: MailStack, mail_user: MailUser, request: pytest.FixtureRequest, db: str
) -> None:
    database = str(request.getfixturevalue("pg_url")) if db == "postgresql" else f"sqlite:///{tmp_path}/dunbot.db"
    bot = make_bot(tmp_path, mailstack, mail_user, database)
    deliver_and_wait(mailstack, mail_user, [
        message("q1@customer.test", "About PO-4711", "When is the deposit for PO-4711 due?", to=mail_user.address),
        message("q2@customer.test", "Re: About PO-4711", "We will pay next week.", to=mail_user.address,
                reply_to="q1@customer.test", hour=11),
    ])
    out = bot.cli("sync", "--once", "--now", "2026-03-05T09:00:00+08:00")
    assert "sales: 2 new, 0 quarantined, 0 unmatched (2 fetched)" in out
    shown = bot.show("PO-4711")
    messages = shown["messages"]
    assert isinstance(messages, list)
    assert [m["message_id"] for m in messages] == ["q1@customer.test", "q2@customer.test"]
    assert all(m["direction"] == "in" and m["from"] == CUSTOMER for m in messages)
    assert "sales: 0 new, 0 quarantined, 0 unmatched (0 fetched)" in bot.cli("sync", "--once")
    client = mailstack.imap(mail_user)
    try:
        client.select_folder("INBOX", readonly=True)
        assert client.search(["SEEN"]) == []  # BODY.PEEK: the salesperson still sees them as new
    finally:
        client.logout()


def test_mail_appended_to_sent_is_outgoing_and_the_customers_reply_threads_to_it(
    tmp_path: Path, mailstack: MailStack, mail_user: MailUser
) -> None:
    bot = make_bot(tmp_path, mailstack, mail_user, f"sqlite:///{tmp_path}/dunbot.db")
    mailstack.append(mail_user, "Sent", message(
        "ask@example.test", "Deposit for PO-4711", "Dear Bob, kindly arrange the deposit.",
        sender=mail_user.address, to=CUSTOMER))
    deliver_and_wait(mailstack, mail_user, [message(
        "ans@partner.test", "Re: Deposit", "Our accountant will pay on Friday.", sender="acct@partner.test",
        to=mail_user.address, reply_to="ask@example.test")])
    bot.cli("sync", "--once")
    messages = bot.show("PO-4711")["messages"]
    assert isinstance(messages, list)
    by_id = {m["message_id"]: m for m in messages}
    assert by_id["ask@example.test"]["direction"] == "out"
    assert by_id["ans@partner.test"]["direction"] == "in"
    assert "ask@example.test" in str(by_id["ans@partner.test"]["match_reason"])


def test_an_unparseable_message_is_quarantined_with_its_reason_and_the_rest_is_ingested(
    tmp_path: Path, mailstack: MailStack, mail_user: MailUser
) -> None:
    database = f"sqlite:///{tmp_path}/dunbot.db"
    bot = make_bot(tmp_path, mailstack, mail_user, database)
    junk = b"X-Garbage: yes\r\n\r\nnot an email at all\r\n"
    mailstack.append(mail_user, "INBOX", junk, flags=())
    deliver_and_wait(mailstack, mail_user, [message("fine@customer.test", "PO-4711", "paid", to=mail_user.address)])
    assert "1 new, 1 quarantined" in bot.cli("sync", "--once")
    with SqlStore.open(database) as store:
        [bad] = store.quarantined()
        assert bad.raw.replace(b"\r\n", b"\n") == junk.replace(b"\r\n", b"\n")
        assert bad.reason.startswith("parse: no message headers found")
        assert store.message_count() == 1


def test_run_picks_up_new_mail_by_idle_within_seconds_and_stops_on_sigterm(
    tmp_path: Path, mailstack: MailStack, mail_user: MailUser,
    stop_process: Callable[[subprocess.Popen[str]], tuple[int, str]],
) -> None:
    bot = make_bot(tmp_path, mailstack, mail_user, f"sqlite:///{tmp_path}/dunbot.db")
    # The longest IDLE wait (a poll) is 60 s: a pickup well under that is IDLE's doing. The bound
    # leaves room for Postfix's delivery and a loaded CI machine (5.9 s was seen once).
    poll, within = 60.0, 15.0
    proc = bot.spawn("run", "--poll-seconds", str(poll))
    try:
        # The first pass over INBOX is done once its folder state is stored; IDLE follows at once.
        wait_until(lambda: bot.inbox_seen(), 30, "the daemon's first pass over INBOX")
        time.sleep(0.5)
        assert proc.poll() is None
        mailstack.deliver(message("idle@customer.test", "PO-4711", "paid", to=mail_user.address),
                          [mail_user.address], sender=CUSTOMER)
        # (by its Message-ID: the daemon's own alert mails to the salesperson land in INBOX too)
        took = wait_until(lambda: bot.has("idle@customer.test"), poll / 2, "the daemon to ingest it")
    except AssertionError as exc:
        code, err = stop_process(proc)
        raise AssertionError(f"{exc}; the daemon said:\n{err}") from exc
    code, err = stop_process(proc)
    assert took < within, f"IDLE took {took:.1f}s (a poll would take up to {poll:.0f}s)"
    assert code == 0, err
    assert "stopping" in err and "Traceback" not in err


def test_run_survives_a_dovecot_restart_and_loses_nothing(
    tmp_path: Path, private_mailstack: MailStack,
    stop_process: Callable[[subprocess.Popen[str]], tuple[int, str]],
) -> None:
    stack, user = private_mailstack, private_mailstack.sales
    bot = make_bot(tmp_path, stack, user, f"sqlite:///{tmp_path}/dunbot.db")
    proc = bot.spawn("run")
    try:
        deliver_and_wait(stack, user, [message("before@customer.test", "PO-4711", "one", to=user.address)])
        wait_until(lambda: bot.has("before@customer.test"), 10, "the first message")
        ports = dict(stack.env)
        stack.stop()
        time.sleep(1.5)  # the daemon notices the drop and starts reconnecting
        stack.start()
        assert stack.env["IMAP_PORT"] == ports["IMAP_PORT"]
        deliver_and_wait(stack, user, [message("after@customer.test", "PO-4711", "two", to=user.address)])
        # by Message-ID: the daemon's own alert mails to the salesperson land in INBOX too
        wait_until(lambda: bot.has("after@customer.test"), 30, "the message delivered after the restart")
    except AssertionError as exc:
        code, err = stop_process(proc)
        raise AssertionError(f"{exc}; the daemon said:\n{err}") from exc
    finally:
        if proc.poll() is None:
            code, err = stop_process(proc)
    assert code == 0, err
    assert "reconnecting" in err


def test_uidvalidity_change_rereads_the_folder_without_duplicates(
    tmp_path: Path, private_mailstack: MailStack
) -> None:
    stack, user = private_mailstack, private_mailstack.sales
    database = f"sqlite:///{tmp_path}/dunbot.db"
    bot = make_bot(tmp_path, stack, user, database)
    deliver_and_wait(stack, user, [message(f"v{i}@customer.test", "PO-4711", f"m{i}", to=user.address) for i in (1, 2)])
    bot.cli("sync", "--once")
    with SqlStore.open(database) as store:
        before = store.folder_state("sales", "INBOX")
    assert before is not None and before.last_uid == 2
    stack.stop()
    time.sleep(1.1)  # Dovecot makes the new UIDVALIDITY from the clock (seconds)
    maildir = stack.maildir(user)
    for index in [*maildir.glob("dovecot-uidlist*"), *maildir.glob("dovecot-uidvalidity*"), *maildir.glob("dovecot.index*")]:
        index.unlink()
    stack.start()
    deliver_and_wait(stack, user, [message("v3@customer.test", "PO-4711", "m3", to=user.address)])
    # The folder also holds the alert mails the first pass's planning sent to the salesperson.
    total = stack.count(user)
    out = bot.cli("sync", "--once")
    assert f"0 quarantined, {total - 3} unmatched ({total} fetched)" in out  # the alerts
    assert f"sales: {total - 2} new" in out  # all but v1 and v2, which are stored already
    with SqlStore.open(database) as store:
        after = store.folder_state("sales", "INBOX")
        assert store.message_count() == total  # each message once
    assert after is not None and after.uidvalidity != before.uidvalidity and after.last_uid == total
    messages = bot.show("PO-4711")["messages"]
    assert isinstance(messages, list)
    assert sorted(m["message_id"] for m in messages) == ["v1@customer.test", "v2@customer.test", "v3@customer.test"]


def test_a_wrong_password_is_a_clear_one_line_error(tmp_path: Path, mailstack: MailStack, mail_user: MailUser) -> None:
    bot = make_bot(tmp_path, mailstack, mail_user, f"sqlite:///{tmp_path}/dunbot.db")
    bot.env = config_env(MailUser(mail_user.address, "wrong"))
    result = CliRunner().invoke(app, ["--config", str(bot.config), "sync", "--once"], env=bot.env)
    assert result.exit_code == 2
    assert f"error: mailbox 'sales': login as '{mail_user.address}'" in result.output
    assert "Traceback" not in result.output


CORPUS = os.environ.get("DUNBOT_CORPUS")


@pytest.mark.skipif(not CORPUS, reason="DUNBOT_CORPUS is not set")
@pytest.mark.parametrize("db", ["sqlite", "postgresql"])
def test_every_corpus_message_in_a_real_mailbox_is_stored_or_quarantined_none_lost(
    tmp_path: Path, mailstack: MailStack, mail_user: MailUser, request: pytest.FixtureRequest, db: str
) -> None:
    root = Path(CORPUS or "")
    files = [root / line.split("\t")[0] for line in (root / "index.tsv").read_text("utf-8").splitlines()
             if line and not line.startswith("#")]
    files = [f for f in files if f.stat().st_size > 0]  # Dovecot refuses to store an empty message
    database = str(request.getfixturevalue("pg_url")) if db == "postgresql" else f"sqlite:///{tmp_path}/dunbot.db"
    bot = make_bot(tmp_path, mailstack, mail_user, database)
    client = mailstack.imap(mail_user)
    try:
        for path in files:  # one APPEND each: Dovecot numbers them 1..N in this order
            client.append("INBOX", path.read_bytes(), flags=())
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        bodies = {uid: item[b"BODY[]"] for uid, item in client.fetch(uids, ["BODY.PEEK[]"]).items()}
    finally:
        client.logout()
    assert len(uids) == len(files)
    out = bot.cli("sync", "--once")
    assert f"({len(files)} fetched)" in out
    with SqlStore.open(database) as store:
        quarantined = {q.uid: q for q in store.quarantined()}
        expected = {}
        for uid, raw in bodies.items():
            if uid not in quarantined:
                expected[uid] = parse_message(raw).message_id  # anything not quarantined parsed
        stored = store.known_message_ids("sales", expected.values())
    lost = {uid: mid for uid, mid in expected.items() if mid not in stored}
    assert not lost, f"neither stored nor quarantined: {lost}"
    # Only what cannot be parsed (bare bodies, text snippets) is quarantined; understanding and
    # threading never fail on real mail.
    for uid, q in quarantined.items():
        assert q.reason.startswith("parse: ") and q.raw, (uid, q.reason)
        with pytest.raises(MessageParseError):
            parse_message(bodies[uid])
