"""Every email is hostile: parsing and understanding never crash ingestion.

`parse_message` either returns or raises MessageParseError with a reason (which ingest
quarantines); `classify` returns for whatever parses. Three sources of hostile mail: the named
attacks of tests/hostile_mail.py (sizes as an attacker would choose them), MIME trees that
hypothesis draws (wrong and missing boundaries, lying charsets, broken transfer encodings,
bad RFC 2047 words), and structural mutations of the real-world corpus. Then one ingest pass
over a folder of such mail on a real SQLite store. Time and memory per attack:
`python bench/hostile.py` (no timed asserts here; an alarm only turns a hang into a failure).
"""

from __future__ import annotations

import random
import signal
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.rulefiles import read_rules_dir
from bot.adapters.store.repository import SqlStore
from bot.core.mime import parse_message
from bot.core.model import Direction, Order, ParsedMessage
from bot.core.understand import UnderstandingRules, classify
from bot.errors import MessageParseError
from bot.paths import DEFAULT_RULES_DIR
from bot.ports import FetchedMessage
from bot.services.ingest import Knowledge, MailboxSpec, sync_mailbox
from tests import hostile_mail
from tests.test_corpus_ingest import corpus_files, corpus_root, needs_corpus

NOW = datetime(2026, 3, 5, 9, tzinfo=UTC)
HANG = 120  # seconds: far beyond any case in bench/hostile.py; only a hang gets here


@pytest.fixture(scope="module")
def rules() -> UnderstandingRules:
    return UnderstandingRules.from_docs(read_rules_dir(DEFAULT_RULES_DIR))


class Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang(f"no answer within {HANG} s")


def parse_and_classify(raw: bytes, rules: UnderstandingRules) -> ParsedMessage | str:
    """The message, or the quarantine reason; any other exception fails the test."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG)
    try:
        msg = parse_message(raw)
    except MessageParseError as exc:
        assert str(exc).strip(), "a quarantine needs a reason"
        return str(exc)
    else:
        understanding = classify(msg, rules, received_at=NOW)
        assert understanding.kind is not None
        return msg
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --- the named attacks ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(hostile_mail.CASES))
def test_named_attack_parses_or_is_quarantined_with_a_reason(
    name: str, rules: UnderstandingRules
) -> None:
    parse_and_classify(hostile_mail.CASES[name](), rules)


def test_a_30mb_attachment_still_gives_the_text_and_the_attachment(
    rules: UnderstandingRules,
) -> None:
    msg = parse_and_classify(hostile_mail.big_attachment(30), rules)
    assert isinstance(msg, ParsedMessage)
    assert msg.text == "We will pay next Friday."
    assert [(a.filename, a.size) for a in msg.attachments] == [
        ("slip.pdf", 30 * 1024 * 1024 * 3 // 4)
    ]


def test_a_charset_whose_codec_refuses_replace_does_not_lose_the_message(
    rules: UnderstandingRules,
) -> None:
    """charset=idna made the stdlib's get_payload raise, and one bad label quarantined the
    whole message; the text parts are now read with the other labels."""
    msg = parse_and_classify(hostile_mail.bogus_charsets(), rules)
    assert isinstance(msg, ParsedMessage)
    assert len(msg.parts) == 8  # every part read; the idna one (last) as well
    assert msg.parts[-1][1].endswith("paid")


def test_deep_nesting_is_quarantined_with_a_reason_that_says_so(rules: UnderstandingRules) -> None:
    for raw in (hostile_mail.nested_multipart(1000), hostile_mail.rfc822_chain(1000)):
        reason = parse_and_classify(raw, rules)
        assert reason == "MIME parts nested too deep to read (an attack, not a message)"


def test_nesting_below_the_parsers_limit_still_finds_the_text(rules: UnderstandingRules) -> None:
    msg = parse_and_classify(hostile_mail.nested_multipart(40), rules)
    assert isinstance(msg, ParsedMessage) and msg.text == "We will pay next Friday."


def test_nul_bytes_stay_data(rules: UnderstandingRules) -> None:
    msg = parse_and_classify(hostile_mail.nul_bytes(), rules)
    assert isinstance(msg, ParsedMessage)
    assert msg.subject.startswith("Re:") and "\r" not in msg.subject and "\n" not in msg.subject


def test_floods_still_find_the_promise(rules: UnderstandingRules) -> None:
    """Date and HTML floods are cut to a bounded size; what is at the top is still read."""
    msg = parse_message(hostile_mail.date_flood(30_000))
    assert classify(msg, rules, received_at=NOW).date is not None
    html = parse_message(hostile_mail.nested_html(5))
    assert html.text.lstrip("> \n").startswith("a")


# --- MIME trees drawn by hypothesis ---------------------------------------------------------------

CHARSETS = (
    b"utf-8",
    b"gb2312",
    b"big5",
    b"iso-2022-jp",
    b"utf-16",
    b"idna",
    b"x-bogus",
    b"",
    b"\xff\xfe",
)
ENCODINGS = (b"", b"7bit", b"8bit", b"base64", b"quoted-printable", b"x-uuencode", b"bogus")
LEAF_TYPES = (
    b"text/plain",
    b"text/html",
    b"application/pdf",
    b"message/delivery-status",
    b"text/rfc822-headers",
    b"message/rfc822",
    b"image/png",
    b"",
)
HEADER_VALUES = st.one_of(
    st.binary(max_size=60),
    st.sampled_from(
        [
            b"=?utf-8?B?5LuY5qy+?=",
            b"=?bogus?Q?=FF=FE?=",
            b"=?utf-8?B?!!!?=",
            b"=?gb2312?B?1ri4tg?=",
            b'"approver@x.test" <evil@y.test>',
            b"a@b.test, <c@d.test",
            b"<<<>>>",
            b"\x00\x00",
            b"Tue, 99 Foo 20261 99:99:99 +9999",
            b"=?utf-8?Q?a?==?utf-8?Q?b?=",
            b"\xe4\xbb\x98",
        ]
    ),
)


@st.composite
def header_block(draw: st.DrawFn) -> bytes:
    names = draw(
        st.lists(
            st.sampled_from(
                [
                    b"From",
                    b"To",
                    b"Cc",
                    b"Subject",
                    b"Date",
                    b"Message-ID",
                    b"References",
                    b"In-Reply-To",
                    b"Reply-To",
                    b"Auto-Submitted",
                    b"X-Any",
                    b"Content-Disposition",
                    b"Received",
                ]
            ),
            min_size=1,
            max_size=8,
        )
    )
    lines = [name + b": " + draw(HEADER_VALUES) for name in names]
    folded = draw(st.booleans())
    return b"\r\n".join(lines).replace(b" ", b"\r\n\t", 1 if folded else 0) + b"\r\n"


@st.composite
def mime_part(draw: st.DrawFn, depth: int = 0) -> bytes:
    head = draw(header_block()) if draw(st.booleans()) else b""
    if depth < 4 and draw(st.integers(0, 3)) == 0:
        boundary = draw(st.sampled_from([b"b%d" % depth, b"b0", b"", b"x" * 90, b'"q"']))
        used = draw(st.sampled_from([boundary, b"other", b"b0"]))
        children = draw(st.lists(mime_part(depth + 1), max_size=4))
        closing = b"--" + used + b"--\r\n" if draw(st.booleans()) else b""
        body = b"".join(b"--" + used + b"\r\n" + child for child in children) + closing
        ctype = draw(
            st.sampled_from([b"multipart/mixed", b"multipart/alternative", b"multipart/report"])
        )
        return head + b"Content-Type: " + ctype + b'; boundary="' + boundary + b'"\r\n\r\n' + body
    ctype = draw(st.sampled_from(LEAF_TYPES))
    charset, cte = draw(st.sampled_from(CHARSETS)), draw(st.sampled_from(ENCODINGS))
    name = b'; name="=?utf-8?B?5LuY?=.pdf"' if draw(st.booleans()) else b""
    body = draw(
        st.one_of(
            st.binary(max_size=300),
            st.sampled_from(
                [
                    b"We paid yesterday.\r\n> On Mon, Bob wrote:\r\n> pay",
                    b"5LuY5qy+\r\n",
                    b"=E4=BB=9",
                    b"<p>paid",
                ]
            ),
        )
    )
    return (
        head
        + b"Content-Type: "
        + ctype
        + b"; charset="
        + charset
        + name
        + b"\r\nContent-Transfer-Encoding: "
        + cte
        + b"\r\n\r\n"
        + body
        + b"\r\n"
    )


@given(head=header_block(), body=mime_part(), cut=st.none() | st.integers(0, 4000))
@settings(
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture], deadline=None
)
def test_drawn_mime_trees_parse_or_are_quarantined(
    head: bytes, body: bytes, cut: int | None, rules: UnderstandingRules
) -> None:
    raw = b"From: bob@buyer.test\r\n" + head + body
    parse_and_classify(raw if cut is None else raw[:cut], rules)


# --- the corpus, mutated in its structure ----------------------------------------------------------


def structural_mutations(raw: bytes, rng: random.Random) -> Iterator[bytes]:
    """Boundaries renamed or dropped, charsets and encodings swapped, parts spliced, NULs put in."""
    yield raw.replace(b"boundary=", b"boundary=x", 1)
    yield raw.replace(b"--\r\n", b"\r\n").replace(b"--\n", b"\n")
    yield raw.replace(b"charset=", b"charset=idna; x=", 2)
    yield raw.replace(b"base64", b"quoted-printable").replace(b"7bit", b"base64")
    cut = rng.randrange(len(raw) + 1)
    yield raw[:cut] + b"\x00" * rng.randrange(1, 50) + raw[cut:]
    yield raw.replace(b"Content-Type: text", b"Content-Type: message/rfc822\r\nX-Was: text", 1)
    yield raw.replace(b"\r\n\r\n", b"\r\n" + b"X-Long: " + b"y" * 100_000 + b"\r\n\r\n", 1)


@needs_corpus
def test_structurally_mutated_corpus_files_parse_or_are_quarantined(
    rules: UnderstandingRules,
) -> None:
    root = corpus_root()
    assert root is not None
    rng = random.Random(20260305)
    files = corpus_files(root)
    assert files, f"no corpus files under {root}"
    for path in rng.sample(files, min(len(files), 150)):
        raw = path.read_bytes()
        for mutated in structural_mutations(raw, rng):
            try:
                parse_and_classify(mutated, rules)
            except Exception as exc:  # noqa: BLE001 - name the file the mutation came from
                pytest.fail(f"{path} mutated: {exc!r}")


# --- ingest: the folder goes on ---------------------------------------------------------------------


class ListMailbox:
    """bot.ports.Mailbox over one INBOX list; UIDs count from 1."""

    def __init__(self, inbox: Sequence[bytes]) -> None:
        self.inbox = list(inbox)

    def uidvalidity(self, folder: str) -> int:
        return 1

    def uids_after(self, folder: str, last_uid: int) -> list[int]:
        count = len(self.inbox) if folder == "INBOX" else 0
        return list(range(last_uid + 1, count + 1))

    def fetch(self, folder: str, uids: Sequence[int]) -> Iterator[FetchedMessage]:
        for uid in uids:
            yield FetchedMessage(uid, self.inbox[uid - 1])

    def wait_for_news(self, folder: str, timeout: float) -> bool:
        return False


def customer_mail(n: int) -> bytes:
    return (
        f"From: bob@buyer.test\r\nTo: alice@supplier.test\r\nSubject: PO-4711\r\n"
        f"Message-ID: <ok{n}@buyer.test>\r\nDate: Tue, 03 Mar 2026 10:00:00 +0800\r\n\r\n"
        "We will pay next Friday.\r\n"
    ).encode()


def test_ingest_quarantines_hostile_mail_with_its_reason_and_goes_on(tmp_path: Path) -> None:
    hostile = [
        hostile_mail.nested_multipart(1000),
        b"\x00\xff garbage without headers",
        hostile_mail.bogus_charsets(),
        hostile_mail.huge_message_id(5000),
        hostile_mail.nul_bytes().replace(b"<hostile@", b"<nul@"),
        hostile_mail.huge_subject(200_000).replace(b"<hostile@", b"<subject@"),
    ]
    inbox = [customer_mail(1), *hostile, customer_mail(2)]
    store = SqlStore.open(f"sqlite:///{tmp_path / 'dunbot.db'}")
    order = Order(
        order_id="PO-4711",
        customer_email="bob@buyer.test",
        customer_name="Bob",
        amount=Decimal(100),
        currency="USD",
        due_date=None,
    )
    store.upsert_orders([order])
    spec = MailboxSpec(name="sales", address="alice@supplier.test")
    knowledge = Knowledge.from_docs(read_rules_dir(DEFAULT_RULES_DIR))
    report = sync_mailbox(spec, ListMailbox(inbox), store, knowledge, now=NOW, batch_size=3)
    quarantined = store.quarantined("sales")
    reasons = {q.uid: q.reason for q in quarantined}
    assert reasons == {
        2: "parse: MIME parts nested too deep to read (an attack, not a message)",
        3: "parse: no message headers found (From, To, Subject, Date, Content-Type...)",
    }
    assert [q.raw for q in quarantined] == inbox[1:3]  # kept whole, to look at later
    assert report.total("new") == len(inbox) - 2
    conversation = store.messages_for_order("PO-4711")
    assert {m.uid for m in conversation} >= {1, len(inbox)}
    assert all(m.direction is Direction.IN for m in conversation)
    state = store.folder_state("sales", "INBOX")
    assert state is not None and state.last_uid == len(inbox)
    again = sync_mailbox(spec, ListMailbox(inbox), store, knowledge, now=NOW, batch_size=3)
    assert again.total("fetched") == 0
    store.close()
