"""`dunbot demo`: the scripted story runs end to end and the product behaves in it as promised."""

from __future__ import annotations

import email
import email.policy
import itertools
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.core.language import detect_language
from bot.core.model import OrderStatus
from bot.demo.run import DemoResult, run_demo

Line = tuple[datetime, str, str]


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoResult, list[Line]]:
    lines: list[Line] = []
    result = run_demo(
        tmp_path_factory.mktemp("demo") / "out", days=63, say=lambda *a: lines.append(a)
    )
    return result, lines


def sent_to(result: DemoResult, address: str) -> list[email.message.EmailMessage]:
    folder = result.out_dir / "customers" / address
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


def test_customers_who_pay_end_paid_and_the_others_stay_open(
    played: tuple[DemoResult, list[Line]],
) -> None:
    status = {o.order_id: o.status for o in played[0].orders}
    assert status["PI-2026-033"] is OrderStatus.PAID  # paid after the holiday
    assert status["PI-2026-034"] is OrderStatus.PAID  # promised, then paid with a slip
    assert status["PI-2026-031"] is OrderStatus.OPEN  # never answers


def test_each_follow_up_threads_and_speaks_the_customers_language(
    played: tuple[DemoResult, list[Line]],
) -> None:
    result = played[0]
    languages = {
        "hans.mueller@mueller-maschinen.example": "de",
        "compras@garcia-distribuciones.example": "es",
        "chen.wei@hengtai-trading.example": "zh",
    }
    for address, language in languages.items():
        mails = sent_to(result, address)
        assert mails, address
        for mail in mails:
            assert mail["In-Reply-To"] and mail["References"], mail["Subject"]
            assert mail["Subject"].startswith("Re: ")
            body = mail.get_body(("plain",))
            assert body is not None and detect_language(body.get_content()) == language
            assert "Auto-Submitted" not in mail  # so the customer's out-of-office still answers


def test_nothing_goes_to_a_customer_while_away_or_after_paying(
    played: tuple[DemoResult, list[Line]],
) -> None:
    result = played[0]
    for mail in sent_to(result, "p.dupont@dupont-outillage.example"):
        sent = email.utils.parsedate_to_datetime(mail["Date"])
        assert not (
            datetime(2026, 3, 6, tzinfo=sent.tzinfo)
            < sent
            < datetime(2026, 3, 20, tzinfo=sent.tzinfo)
        )
    mike = sent_to(result, "mike@acme-trading.example")
    assert all(
        email.utils.parsedate_to_datetime(m["Date"]).date() < datetime(2026, 3, 14).date()
        for m in mike
    )


def test_follow_ups_are_spaced_and_the_silent_customer_climbs_the_ladder(
    played: tuple[DemoResult, list[Line]],
) -> None:
    result, lines = played
    hans = [
        email.utils.parsedate_to_datetime(m["Date"])
        for m in sent_to(result, "hans.mueller@mueller-maschinen.example")
    ]
    assert all((b - a).days >= 3 for a, b in itertools.pairwise(hans))
    steps = [
        what.split("'")[1]
        for _, who, what in lines
        if who == "PI-2026-031" and what.startswith("draft '")
    ]
    assert steps[:3] == ["due-date-reminder", "friendly-check-in", "slot-release-warning"]
    assert len(set(steps)) == len(steps)  # each step once, rising


def test_drafts_are_approved_by_mail_replies_including_an_edit_and_a_snooze(
    played: tuple[DemoResult, list[Line]],
) -> None:
    result, lines = played
    read = [what for _, _, what in lines if what.startswith("dunbot read the approval:")]
    assert any("edited and approved" in what for what in read)
    assert any("snoozed until" in what for what in read)
    lucia = sent_to(result, "compras@garcia-distribuciones.example")
    edited = [
        m for m in lucia if "Half now and half by April 30" in m.get_body(("plain",)).get_content()
    ]
    assert len(edited) == 1  # the approver's text went out instead of the draft, once
    requests = sum(1 for _, _, what in lines if "mailed to the approver" in what)
    sent = sum(1 for _, who, _ in lines if who == "outbox")
    assert 0 < sent <= requests


def test_the_demo_command_prints_a_timeline_and_refuses_to_overwrite_a_foreign_folder(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    out = tmp_path / "d"
    result = runner.invoke(app, ["demo", "--out", str(out), "--days", "12"])
    assert result.exit_code == 0, result.output
    assert "customer wrote (en): human, intent promise" in result.output
    assert (out / "demo.db").exists()
    foreign = tmp_path / "precious"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("keep me")
    refused = runner.invoke(app, ["demo", "--out", str(foreign)])
    assert refused.exit_code == 2
    assert (foreign / "thesis.txt").read_text() == "keep me"
