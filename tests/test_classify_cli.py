"""`dunbot classify` end to end on inline .eml files, and `classify` on parsed messages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.adapters.rulefiles import read_rules_dir
from bot.cli import app
from bot.core.mime import parse_message
from bot.core.model import Intent, Kind
from bot.core.understand import UnderstandingRules, classify
from bot.paths import DEFAULT_RULES_DIR

PROMISE = """\
From: John Miller <john@acme.test>
To: Lily Chen <lily@supplier.test>
Subject: Re: Payment reminder PO-2025-0142
Date: Wed, 04 Mar 2026 09:15:00 +0000
Message-ID: <p1@acme.test>
Content-Type: text/plain; charset=utf-8

Hi Lily,

Sorry for the delay. We have NOT paid yet because our director was away,
but we will pay the balance next Friday.

Thanks,
John

On Mon, 2 Mar 2026 at 10:00, Lily Chen <lily@supplier.test> wrote:
> Dear John, we have already paid you? No: this is a reminder that the balance is due.
"""

CHINESE = """\
From: =?utf-8?b?546L56OK?= <wang@kehu.test>
To: lily@supplier.test
Subject: =?utf-8?b?UmU6IOiuouWNlSBQSTI1MDYwNQ==?=
Date: Wed, 04 Mar 2026 17:00:00 +0800
Message-ID: <z1@kehu.test>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

陈小姐，我们下周五付款，不好意思。
"""

NO_DATE = """\
From: buyer@shop.test
To: lily@supplier.test
Subject: Re: invoice
Message-ID: <n1@shop.test>

We will pay tomorrow.
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def rules() -> UnderstandingRules:
    return UnderstandingRules.from_docs(read_rules_dir(DEFAULT_RULES_DIR))


def test_classify_json_lines(tmp_path: Path) -> None:
    files = [_write(tmp_path, "a.eml", PROMISE), _write(tmp_path, "b.eml", CHINESE)]
    result = CliRunner().invoke(
        app, ["--config", str(tmp_path / "none.yaml"), "classify", "--json", *map(str, files)]
    )
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert first["file"] == str(files[0])
    assert first["kind"] == "human" and first["intent"] == "promise"
    assert first["language"] == "en" and first["date"] == "2026-03-06"
    assert "wrote:" not in first["reply_text"] and "next Friday" in first["reply_text"]
    assert first["order"] is not None and "0142" in first["order"]
    assert second["intent"] == "promise" and second["language"] == "zh"
    assert second["date"] == "2026-03-13"
    for key in ("kind", "intent", "language", "date", "order", "reply_text"):
        assert key in first and key in second


def test_unparseable_file_reports_error_and_exit_1(tmp_path: Path) -> None:
    good = _write(tmp_path, "good.eml", PROMISE)
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.eml"
    result = CliRunner().invoke(
        app,
        [
            "--config",
            str(tmp_path / "x.yaml"),
            "classify",
            "--json",
            str(empty),
            str(missing),
            str(good),
        ],
    )
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[0]["file"] == str(empty) and "empty" in lines[0]["error"]
    assert lines[1]["file"] == str(missing) and "error" in lines[1]
    assert lines[2]["intent"] == "promise"  # the others are still classified


def test_readable_summary(tmp_path: Path) -> None:
    path = _write(tmp_path, "a.eml", PROMISE)
    result = CliRunner().invoke(app, ["--config", str(tmp_path / "n.yaml"), "classify", str(path)])
    assert result.exit_code == 0
    assert "human / promise" in result.output and "date=2026-03-06" in result.output


def test_rules_come_from_the_config(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    for name in ("quotes", "autoreply", "orders", "intents"):
        text = (DEFAULT_RULES_DIR / f"{name}.yaml").read_text(encoding="utf-8")
        if name == "intents":
            text = text.replace("threshold: 1.0", "threshold: 99")
        (rules_dir / f"{name}.yaml").write_text(text, encoding="utf-8")
    config = tmp_path / "dunbot.yaml"
    config.write_text(
        "database: sqlite:///x.db\ntimezone: Asia/Shanghai\nrules: rules/\nmailboxes: []\n",
        encoding="utf-8",
    )
    path = _write(tmp_path, "a.eml", PROMISE)
    result = CliRunner().invoke(app, ["--config", str(config), "classify", "--json", str(path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["intent"] == "other"  # nothing reaches threshold 99


def test_intent_never_from_the_quote(rules: UnderstandingRules) -> None:
    raw = PROMISE.replace("we will pay the balance next Friday", "thanks")
    raw = raw.replace("We have NOT paid yet because our director was away,\n", "")
    understood = classify(parse_message(raw.encode()), rules)
    assert understood.intent != Intent.PAID and "already paid" not in understood.reply_text


def test_relative_dates_use_received_at_without_date_header(rules: UnderstandingRules) -> None:
    msg = parse_message(NO_DATE.encode())
    assert msg.date is None
    assert classify(msg, rules).date is None
    received = datetime(2026, 3, 4, 8, tzinfo=UTC)
    assert classify(msg, rules, received_at=received).date == date(2026, 3, 5)


def test_auto_reply_is_absent_with_return_date(rules: UnderstandingRules) -> None:
    raw = (
        "From: anna@shop.test\r\nTo: lily@supplier.test\r\nSubject: Automatic reply: invoice\r\n"
        "Date: Wed, 04 Mar 2026 09:00:00 +0100\r\nAuto-Submitted: auto-replied\r\n"
        "Message-ID: <oo1@shop.test>\r\n\r\n"
        "I am out of the office until Monday 16 March with limited access to email.\r\n"
    )
    understood = classify(parse_message(raw.encode()), rules)
    assert understood.kind == Kind.AUTO_REPLY and understood.intent == Intent.ABSENT
    assert understood.date == date(2026, 3, 16)


def test_bounce_has_no_intent(rules: UnderstandingRules) -> None:
    raw = (
        "From: MAILER-DAEMON@mx.supplier.test\r\nTo: lily@supplier.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nDate: Wed, 04 Mar 2026 09:00:00 +0000\r\n"
        "Message-ID: <b1@mx.supplier.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered. We will pay.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.supplier.test\r\n\r\n"
        "Final-Recipient: rfc822; gone@shop.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B--\r\n"
    )
    understood = classify(parse_message(raw.encode()), rules)
    assert understood.kind == Kind.BOUNCE and understood.intent == Intent.NONE
    assert understood.bounce_recipient == "gone@shop.test" and understood.date is None


def test_cli_reads_no_clock_for_a_message_without_date(tmp_path: Path) -> None:
    path = _write(tmp_path, "nodate.eml", NO_DATE)
    result = CliRunner().invoke(
        app, ["--config", str(tmp_path / "n.yaml"), "classify", "--json", str(path)]
    )
    assert result.exit_code == 0
    out = json.loads(result.output)
    assert out["intent"] == "promise" and out["date"] is None
