"""Orders: the pure CSV parser, and `dunbot orders ...` / `dunbot init` on a real SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.adapters.store import SqlStore
from bot.cli import app
from bot.config import load_config
from bot.core.model import Direction, Intent, Kind, Understanding
from bot.core.orders_csv import parse_orders_csv
from bot.errors import InputError
from bot.paths import DEFAULT_RULES_DIR
from bot.ports import FolderState, MessageRecord

DATA = Path(__file__).parent / "data" / "orders"
CONFIG = """\
database: sqlite:///state/dunbot.db
mailboxes:
  - name: sales
    address: sales@example.test
    imap: {host: 127.0.0.1, port: 143, security: none, username: sales, password_env: X_PW}
    smtp: {host: 127.0.0.1, port: 25, security: none}
"""


def parse(name: str) -> list[object]:
    return list(parse_orders_csv((DATA / name).read_text(encoding="utf-8"), name))


# --- the pure parser -------------------------------------------------------------------------


def test_parse_good_file() -> None:
    orders = parse_orders_csv((DATA / "good.csv").read_text(encoding="utf-8"), "good.csv")
    assert [o.order_id for o in orders] == ["PO-2025-001", "PO-2025-002", "PO-2025-003"]
    first, second, third = orders
    assert first.customer_email == "buyer@acme.test" and first.currency == "EUR"
    assert first.amount == Decimal("12500.00") and first.due_date == date(2025, 3, 31)
    assert (first.language, first.country, first.timezone, first.mailbox) == (
        "de",
        "DE",
        "Europe/Berlin",
        "sales",
    )
    assert (
        second.customer_name == "Li Trading Co., Ltd"
        and second.due_date is None
        and second.mailbox is None
    )
    assert third.amount == Decimal("1234.567") and third.timezone is None


def test_semicolon_and_bom() -> None:
    text = "\ufeff" + (DATA / "semicolon.csv").read_text(encoding="utf-8")
    (order,) = parse_orders_csv(text, "semicolon.csv")
    assert order.customer_name == "X und Y, Berlin" and order.amount == Decimal("10.00")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "bad_amount.csv",
            r"bad_amount.csv: row 3, column 'amount': '1,200.00' is not an amount; write",
        ),
        (
            "bad_date.csv",
            r"bad_date.csv: row 2, column 'due_date': '31/01/2025' is not a date; write it as Y",
        ),
        ("missing_column.csv", r"missing_column.csv: row 1: column 'customer_name' is missing"),
        (
            "bad_timezone.csv",
            r"bad_timezone.csv: row 2, column 'timezone': 'Europe/Atlantis' is not a time zone",
        ),
    ],
)
def test_errors_name_file_row_and_column(name: str, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        parse(name)


@pytest.mark.parametrize(
    ("row", "column", "fix"),
    [
        ("PO-1,not-an-email,A,1.00,USD", "customer_email", "buyer@example.com"),
        ("PO-1,a@b.test,A,-5,USD", "amount", "positive"),
        ("PO-1,a@b.test,A,1.00,US", "currency", "three letters"),
        ("PO-1,a@b.test,A,1.00,USD,,english", "language", "two letters"),
        ("PO-1,a@b.test,A,1.00,USD,,,DEU", "country", "two letters"),
        (",a@b.test,A,1.00,USD", "order_id", "empty"),
    ],
)
def test_each_column_is_validated(row: str, column: str, fix: str) -> None:
    header = "order_id,customer_email,customer_name,amount,currency,due_date,language,country\n"
    with pytest.raises(InputError) as info:
        parse_orders_csv(header + "PO-0,ok@b.test,A,1.00,USD\n" + row + "\n", "o.csv")
    assert f"o.csv: row 3, column '{column}'" in str(info.value) and fix in str(info.value)


def test_unknown_column_and_duplicate_order() -> None:
    with pytest.raises(InputError, match="unknown column 'due date'"):
        parse_orders_csv(
            "order_id,customer_email,customer_name,amount,currency,due date\n", "o.csv"
        )
    header = "order_id,customer_email,customer_name,amount,currency\n"
    text = header + "A,a@b.test,A,1,USD\nA,a@b.test,A,2,USD\n"
    with pytest.raises(InputError, match="row 3, column 'order_id': 'A' is already on row 2"):
        parse_orders_csv(text, "o.csv")


def test_empty_file() -> None:
    with pytest.raises(InputError, match="row 1: the file is empty"):
        parse_orders_csv("", "o.csv")


# --- the commands ------------------------------------------------------------------------------


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "dunbot.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def dunbot(config_file: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(config_file), *args])


def ok(config_file: Path, *args: str) -> Result:
    result = dunbot(config_file, *args)
    assert result.exit_code == 0, result.output
    return result


def test_import_then_reimport_updates(config_file: Path) -> None:
    assert ok(config_file, "orders", "import", str(DATA / "good.csv")).stdout.endswith(
        "3 created, 0 updated\n"
    )
    assert ok(config_file, "orders", "import", str(DATA / "updated.csv")).stdout.endswith(
        "1 created, 1 updated\n"
    )
    listed = json.loads(ok(config_file, "orders", "list", "--json").stdout)
    assert [o["order_id"] for o in listed] == [
        "PO-2025-001",
        "PO-2025-002",
        "PO-2025-003",
        "PO-2025-004",
    ]
    first = listed[0]
    assert (first["amount"], first["due_date"], first["customer_name"]) == (
        "13000.50",
        "2025-04-30",
        "Acme GmbH & Co. KG",
    )
    assert (config_file.parent / "state" / "dunbot.db").exists()  # relative to the config file


def test_list_table(config_file: Path) -> None:
    ok(config_file, "orders", "import", str(DATA / "good.csv"))
    out = ok(config_file, "orders", "list").stdout
    assert "PO-2025-002" in out and "800.00 USD" in out and "open" in out


def test_bad_csv_is_one_line_exit_2(config_file: Path) -> None:
    result = dunbot(config_file, "orders", "import", str(DATA / "bad_amount.csv"))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "row 3, column 'amount'" in result.stderr
    assert "Traceback" not in result.output
    assert (
        json.loads(ok(config_file, "orders", "list", "--json").stdout) == []
    )  # nothing half-imported


def test_unknown_mailbox_in_csv(config_file: Path, tmp_path: Path) -> None:
    csv = tmp_path / "o.csv"
    csv.write_text(
        "order_id,customer_email,customer_name,amount,currency,mailbox\nA,a@b.test,A,1,USD,support\n"
    )
    result = dunbot(config_file, "orders", "import", str(csv))
    assert (
        result.exit_code == 2
        and "mailbox 'support' is not in the config (known: sales)" in result.stderr
    )


def test_missing_config_and_unknown_order(tmp_path: Path, config_file: Path) -> None:
    result = dunbot(tmp_path / "absent.yaml", "orders", "list")
    assert result.exit_code == 2 and "run `dunbot init`" in result.stderr
    result = dunbot(config_file, "orders", "show", "PO-404")
    assert (
        result.exit_code == 2
        and result.stderr == "error: no order 'PO-404'; see `dunbot orders list`\n"
    )


def test_status_commands_are_audited(config_file: Path) -> None:
    ok(config_file, "orders", "import", str(DATA / "good.csv"))
    assert (
        ok(config_file, "orders", "pause", "PO-2025-001", "--reason", "phone call").stdout
        == "PO-2025-001: open -> paused\n"
    )
    ok(config_file, "orders", "resume", "PO-2025-001")
    ok(config_file, "orders", "paid", "PO-2025-001")
    shown = json.loads(ok(config_file, "orders", "show", "PO-2025-001", "--json").stdout)
    assert shown["status"] == "paid"
    assert [a["detail"] for a in shown["audit"]] == [
        "open -> paused: phone call",
        "paused -> open: resumed on the command line",
        "open -> paid: marked paid on the command line",
    ]
    assert dunbot(config_file, "orders", "paid", "PO-404").exit_code == 2


def test_show_lists_messages_oldest_first(config_file: Path) -> None:
    ok(config_file, "orders", "import", str(DATA / "good.csv"))
    promise = Understanding(
        Kind.HUMAN, Intent.PROMISE, "de", date(2025, 4, 2), "PO-2025-001", "Zahlung kommt"
    )

    def msg(
        uid: int, day: int, direction: Direction, understanding: Understanding | None
    ) -> MessageRecord:
        return MessageRecord(
            "sales",
            "INBOX",
            uid,
            f"<{uid}@x>".strip("<>"),
            direction,
            f"PO-2025-001 #{uid}",
            "buyer@acme.test",
            ("sales@example.test",),
            datetime(2025, 3, day, tzinfo=UTC),
            None,
            (),
            "text",
            "PO-2025-001",
            "order number in subject",
            understanding,
        )

    with SqlStore.open(load_config(config_file).database) as store:
        store.save_batch(
            FolderState("sales", "INBOX", 1, 2),
            [msg(2, 20, Direction.IN, promise), msg(1, 10, Direction.OUT, None)],
            [],
        )
    shown = json.loads(ok(config_file, "orders", "show", "PO-2025-001", "--json").stdout)
    assert (
        shown["order_id"] == "PO-2025-001"
        and shown["amount"] == "12500.00"
        and shown["currency"] == "EUR"
    )
    assert shown["customer_email"] == "buyer@acme.test" and shown["due_date"] == "2025-03-31"
    first, second = shown["messages"]
    assert (first["message_id"], first["direction"], first["date"]) == (
        "1@x",
        "out",
        "2025-03-10T00:00:00+00:00",
    )
    assert "intent" not in first
    assert (second["from"], second["intent"], second["kind"]) == (
        "buyer@acme.test",
        "promise",
        "human",
    )
    text = ok(config_file, "orders", "show", "PO-2025-001").stdout
    assert text.index("#1") < text.index("#2") and "human/promise" in text


# --- dunbot init -------------------------------------------------------------------------------


def test_init_writes_a_config_that_loads(tmp_path: Path) -> None:
    target = tmp_path / "site"
    result = CliRunner().invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    text = (target / "dunbot.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    for before, line in zip([""] + lines, lines, strict=False):
        if ":" in line and not line.lstrip().startswith("#"):  # every key is explained
            assert "#" in line or before.lstrip().startswith("#"), line
    config = load_config(target / "dunbot.yaml", environ={})
    assert (
        config.rules == (target / "rules").resolve()
        and config.mailboxes[0].imap.host == "127.0.0.1"
    )
    assert config.mailboxes[0].imap.password_env == "DUNBOT_IMAP_PASSWORD"
    shipped = sorted(
        p.relative_to(DEFAULT_RULES_DIR) for p in DEFAULT_RULES_DIR.rglob("*") if p.is_file()
    )
    assert shipped and all((target / "rules" / p).is_file() for p in shipped)


def test_init_keeps_existing_files_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "dunbot.yaml").write_text("timezone: Europe/Berlin\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert result.exit_code == 0 and "use --force" in result.stdout
    assert (tmp_path / "dunbot.yaml").read_text(encoding="utf-8") == "timezone: Europe/Berlin\n"
    assert CliRunner().invoke(app, ["init", "--force", str(tmp_path)]).exit_code == 0
    assert load_config(tmp_path / "dunbot.yaml", environ={}).mailboxes[0].name == "sales"
