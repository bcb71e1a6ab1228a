"""Mail templates: every shipped template renders in all five languages, sandboxed and strict."""

from __future__ import annotations

from datetime import UTC, date
from decimal import Decimal
from pathlib import Path

import pytest

from bot.adapters.templates import (
    LANGUAGES,
    SandboxedRenderer,
    base_language,
    order_context,
    sample_context,
)
from bot.core.drafting import reply_subject, reply_threading, thread_reply
from bot.core.ruleset import Ruleset
from bot.core.yamldoc import parse_yaml
from bot.errors import TemplateError
from bot.paths import DEFAULT_RULES_DIR, DEFAULT_TEMPLATES_DIR

RULES = Ruleset.from_docs(
    {
        "default": parse_yaml(
            (DEFAULT_RULES_DIR / "default.yaml").read_text(encoding="utf-8"), "rules/default.yaml"
        )
    }
)
SHIPPED = SandboxedRenderer(DEFAULT_TEMPLATES_DIR)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", sorted(RULES.templates()))
def test_every_rule_template_exists_and_renders_in_every_language(name: str, language: str) -> None:
    assert (DEFAULT_TEMPLATES_DIR / language / f"{name}.j2").is_file()
    mail = SHIPPED.render(name, language, sample_context())
    assert mail.language == language and mail.template == f"{language}/{name}.j2"
    assert "PO-2024-0117" in mail.subject + mail.body
    assert "{{" not in mail.body and "{%" not in mail.body and "\n" not in mail.subject
    assert "Alice Chen" in mail.body  # signed by the salesperson


@pytest.mark.parametrize(
    ("language", "money", "day"),
    [
        ("en", "$12,500.00", "March 15, 2024"),
        ("de", "12.500,00\xa0$", "15. März 2024"),
        ("fr", "12\u202f500,00\xa0$US", "15 mars 2024"),
        ("es", "12.500,00\xa0US$", "15 de marzo de 2024"),
        ("zh", "US$12,500.00", "2024年3月15日"),
    ],
)
def test_money_and_dates_are_written_the_local_way(language: str, money: str, day: str) -> None:
    mail = SHIPPED.render("due-date-reminder", language, sample_context())
    assert money in mail.body
    assert day in mail.subject and day in mail.body


def test_greeting_and_closing_are_native() -> None:
    ctx = sample_context()
    assert SHIPPED.render("friendly-check-in", "de", ctx).body.startswith("Guten Tag Acme Trading,")
    assert "Mit freundlichen Grüßen" in SHIPPED.render("friendly-check-in", "de", ctx).body
    assert SHIPPED.render("friendly-check-in", "zh", ctx).body.startswith("Acme Trading，您好！")
    assert SHIPPED.render("friendly-check-in", "fr", ctx).body.startswith("Bonjour Acme Trading,")
    assert "Un cordial saludo" in SHIPPED.render("friendly-check-in", "es", ctx).body


def test_optional_dates_may_be_absent() -> None:
    ctx = {**sample_context(), "due_date": None, "valid_until": None, "promised_date": None}
    for language in LANGUAGES:
        for name in ("due-date-reminder", "price-validity", "promise-check-in", "answer-question"):
            mail = SHIPPED.render(name, language, ctx)
            assert "None" not in mail.subject + mail.body


def test_cash_flow_answer_offers_instalments_in_each_language() -> None:
    words = {"en": "instalments", "de": "Raten", "fr": "échelonner", "es": "plazos", "zh": "分期"}
    for language, word in words.items():
        assert word in SHIPPED.render("answer-cash-flow", language, sample_context()).body


@pytest.mark.parametrize(
    ("asked", "used"), [("it", "en"), ("pt-BR", "en"), ("zh-CN", "zh"), ("DE", "de")]
)
def test_language_fallback(asked: str, used: str) -> None:
    mail = SHIPPED.render("friendly-check-in", asked, sample_context())
    assert mail.language == used


def test_base_language() -> None:
    assert base_language("zh_Hant_TW") == "zh" and base_language("") == "en"


def write(tmp_path: Path, rel: str, text: str) -> SandboxedRenderer:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return SandboxedRenderer(tmp_path)


def test_sandbox_blocks_attribute_tricks(tmp_path: Path) -> None:
    r = write(tmp_path, "en/evil.j2", "Subject: hi\n\nline two\n{{ ''.__class__.__mro__ }}\n")
    with pytest.raises(TemplateError) as info:
        r.render("evil", "en", {})
    assert f"{tmp_path / 'en' / 'evil.j2'}:4:" in str(info.value)


def test_sandbox_blocks_calling_unsafe_methods(tmp_path: Path) -> None:
    r = write(
        tmp_path, "en/evil.j2", "Subject: hi\n\n{{ amount.__class__.__init__.__globals__ }}\n"
    )
    with pytest.raises(TemplateError):
        r.render("evil", "en", {"amount": Decimal(1)})


def test_unknown_variable_is_an_error_with_its_line(tmp_path: Path) -> None:
    r = write(tmp_path, "en/t.j2", "Subject: hi\n\nDear {{ customer_name }},\n{{ nope }}\n")
    with pytest.raises(TemplateError, match=r"t\.j2:4: UndefinedError: 'nope' is undefined"):
        r.render("t", "en", {"customer_name": "A"})


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    r = write(tmp_path, "de/t.j2", "Subject: hi\n\n{% if x %}\nno end\n")
    write(tmp_path, "en/t.j2", "Subject: hi\n\nfine\n")
    with pytest.raises(TemplateError, match=r"de/t\.j2:\d+: "):
        r.render("t", "de", {"x": 1})


def test_missing_template_and_missing_subject(tmp_path: Path) -> None:
    r = write(tmp_path, "en/nosubject.j2", "Hello\n\nbody\n")
    with pytest.raises(TemplateError, match="not found"):
        r.render("absent", "fr", {})
    with pytest.raises(TemplateError, match=r"nosubject\.j2:1: the first line must be"):
        r.render("nosubject", "en", {})


def test_text_is_not_html_escaped(tmp_path: Path) -> None:
    r = write(tmp_path, "en/t.j2", "Subject: {{ name }}\n\nDear {{ name }},\n")
    mail = r.render("t", "en", {"name": "Smith & Sons <Ltd>"})
    assert mail.subject == "Smith & Sons <Ltd>" and mail.body == "Dear Smith & Sons <Ltd>,\n"


def test_format_filters_accept_plain_numbers_and_other_formats(tmp_path: Path) -> None:
    r = write(
        tmp_path,
        "de/t.j2",
        "Subject: x\n\n{{ 1234.5 | format_currency('EUR') }} {{ d | format_date('short') }}\n",
    )
    assert r.render("t", "de", {"d": date(2024, 3, 5)}).body == "1.234,50\xa0€ 05.03.24\n"


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("PI 2024-117", "Re: PI 2024-117"),
        ("Re: PI 2024-117", "Re: PI 2024-117"),
        ("AW: Re: RE: PI", "Re: PI"),
        ("回复：付款", "Re: 付款"),
        ("Fwd: TR: order", "Re: order"),
        ("", "Re:"),
    ],
)
def test_reply_subject(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


def test_reply_threading_builds_references() -> None:
    t = reply_threading("PI 7", "<c@x>", ["<a@x>", "b@x"])
    assert t.in_reply_to == "c@x" and t.references == ("a@x", "b@x", "c@x")
    assert t.headers() == {
        "Subject": "Re: PI 7",
        "In-Reply-To": "<c@x>",
        "References": "<a@x> <b@x> <c@x>",
    }
    long = reply_threading("x", "z@x", [f"{i}@x" for i in range(30)])
    assert len(long.references) == 20 and long.references[0] == "0@x"
    assert long.references[-1] == "z@x"
    assert reply_threading("x", None).headers() == {"Subject": "Re: x"}


def test_thread_reply_answers_the_latest_message_with_an_id() -> None:
    from datetime import datetime

    from bot.core.decision import Event
    from bot.core.model import Direction

    at = datetime(2026, 3, 2, tzinfo=UTC)
    history = [
        Event(Direction.OUT, at, subject="PI 7", message_id="a@x"),
        Event(Direction.IN, at, subject="AW: PI 7", message_id="b@x", references=("a@x",)),
        Event(Direction.IN, at, subject="no id"),
    ]
    t = thread_reply(history)
    assert t is not None and t.subject == "Re: PI 7" and t.references == ("a@x", "b@x")
    assert thread_reply([]) is None


def test_order_context_has_every_sample_key_and_renders() -> None:
    from bot.core.model import Order

    o = Order("PO-1", "b@x.example", "Bäckerei Müller", Decimal("99.5"), "EUR", date(2026, 5, 4))
    ctx = order_context(o, sender_name="Alice", company="Sup Co")
    assert set(ctx) == set(sample_context())
    mail = SHIPPED.render("due-date-reminder", "de", ctx)
    assert "99,50\xa0€" in mail.body and "4. Mai 2026" in mail.subject
