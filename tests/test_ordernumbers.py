"""Order numbers: patterns as data, recognition in many languages, and what must not fire."""

from __future__ import annotations

import pytest

from bot.core.ordernumbers import (
    OrderPatterns,
    find_order_numbers,
    mentions_order_id,
    order_key,
    same_order_number,
)
from bot.core.yamldoc import parse_yaml
from bot.errors import RuleError
from bot.paths import DEFAULT_RULES_DIR

SHIPPED = DEFAULT_RULES_DIR / "orders.yaml"


@pytest.fixture(scope="module")
def shipped() -> OrderPatterns:
    # The adapter reads files; here the test reads the text and hands it to the pure core.
    return OrderPatterns.from_doc(parse_yaml(SHIPPED.read_text(encoding="utf-8"), str(SHIPPED)))


def patterns(text: str) -> OrderPatterns:
    return OrderPatterns.from_doc(parse_yaml(text, "orders.yaml"))


@pytest.mark.parametrize(
    "text",
    [
        "PO# 4711",
        "P.O. No. 4711",
        "Re: payment for PO 4711",
        "订单号：4711",
        "订单号:4711",
        "关于订单４７１１的付款",
        "Bestell-Nr. 4711",
        "Ihre Bestellung Nr. 4711",
        "Auftrags-Nr.: 4711",
        "Rechnung 4711.",
        "pedido nº 4711",
        "commande n° 4711",
        "ordine n. 4711",
        "заказа № 4711",
        "注文番号：４７１１",
        "sipariş no: 4711",
        "Invoice number: 4711",
        "our order 4711 was shipped",
        "PI 4711",
        "合同号 4711",
    ],
)
def test_recognises_the_number_in_many_spellings(shipped: OrderPatterns, text: str) -> None:
    assert find_order_numbers(text, shipped) == ["4711"]


@pytest.mark.parametrize(
    ("text", "stated"),
    [("PO-4711", "PO-4711"), ("PO4711", "PO4711"), ("re: po-2025-0142", "PO-2025-0142"), ("PI#20451 paid", "PI#20451")],
)
def test_an_id_written_in_one_piece_is_reported_whole(shipped: OrderPatterns, text: str, stated: str) -> None:
    assert find_order_numbers(text, shipped) == [stated]
    assert same_order_number(stated, stated.lstrip("PIO#-re: ").lower())


@pytest.mark.parametrize(
    "text",
    [
        "we will order 500 pcs next month",
        "please send the invoice 2024-03-05",
        "invoice dated 05.03.2024",
        "the invoice 12,500.00 is too high",
        "invoice 4711.50",
        "order 500 USD more",
        "order 300件",
        "call me at 400-123-4567 about the order",
        "order 13812345678",
        "the report 4711 is attached",
        "P.O. Box 1234, Springfield",
        "order 12",
        "PO 2024/03/05",
        "my phone +49 30 1234567",
    ],
)
def test_does_not_fire_on_dates_phones_amounts_or_quantities(
    shipped: OrderPatterns, text: str
) -> None:
    assert find_order_numbers(text, shipped) == []


def test_in_order_of_appearance_and_deduplicated(shipped: OrderPatterns) -> None:
    text = "PO 4712 and PO-4711; again PO#4712 and 订单号 4711, plus order 2024-0815"
    assert find_order_numbers(text, shipped) == ["4712", "PO-4711", "2024-0815"]


def test_keeps_structured_numbers_and_upper_cases_them(shipped: OrderPatterns) -> None:
    assert find_order_numbers("PO 2024-001a", shipped) == ["2024-001A"]


def test_configured_canonical_form() -> None:
    pats = patterns(
        "keywords: ['PO', '订单']\nmarkers: ['号', 'no\\.?']\ncanonical: 'PO-{number}'\n"
    )
    assert find_order_numbers("PO# 4711, PO-4711, 订单号：4711", pats) == ["PO-4711"]


def test_configured_number_shape_and_min_digits() -> None:
    pats = patterns("keywords: [order]\nnumber: '[A-Z]\\d+'\nmin_digits: 2\n")
    assert find_order_numbers("order A12 and order 4711 and order B3", pats) == ["A12"]


def test_same_order_number_ignores_case_spaces_and_dashes() -> None:
    assert same_order_number("PO# 4711", "po-4711")
    assert same_order_number("4711", "PO-4711")
    assert same_order_number("PO-4711", "4711")
    assert same_order_number("SO 2024/0815", "so-2024-0815")
    assert not same_order_number("PI-4711", "PO-4711")
    assert not same_order_number("4711", "47110")
    assert not same_order_number("4711", "PO-4712")
    assert not same_order_number("", "")
    assert order_key(" po # 47-11 ") == "PO4711"


def test_mentions_order_id_needs_letters_and_digits() -> None:
    assert mentions_order_id("Payment for SO-2024-0815, thanks", "SO-2024-0815")
    assert mentions_order_id("ref so2024/0815.", "SO-2024-0815")
    assert not mentions_order_id("Payment for SO-2024-08150", "SO-2024-0815")
    assert not mentions_order_id("amount 4711 USD", "4711")


def test_shipped_file_lists_free_mail_domains(shipped: OrderPatterns) -> None:
    assert {"gmail.com", "qq.com", "163.com", "web.de", "gmx.de"} <= shipped.free_mail_domains


def test_bad_regex_names_file_and_line() -> None:
    text = "keywords:\n  - PO\n  - 'order(('\n"
    with pytest.raises(RuleError) as info:
        patterns(text)
    assert info.value.path == "orders.yaml"
    assert info.value.line == 3
    assert "regular expression" in str(info.value)


@pytest.mark.parametrize(
    ("entry", "message"),
    [("'(?P<number>PO)'", "named groups"), ("'(PO)?'", "empty text"), ("''", "empty text")],
)
def test_keywords_that_would_break_the_finder(entry: str, message: str) -> None:
    with pytest.raises(RuleError, match=message) as info:
        patterns(f"keywords:\n  - order\n  - {entry}\n")
    assert info.value.line == 3


def test_unknown_key_names_file_and_line() -> None:
    with pytest.raises(RuleError) as info:
        patterns("keywords: [PO]\n\nkeywrods: [order]\n")
    assert info.value.line == 3
    assert "keywrods" in str(info.value)


def test_canonical_without_number_is_an_error() -> None:
    with pytest.raises(RuleError) as info:
        patterns("keywords: [PO]\ncanonical: 'PO-{id}'\n")
    assert info.value.line == 2
    assert "{number}" in str(info.value)


def test_missing_keywords_and_wrong_top_level() -> None:
    with pytest.raises(RuleError, match="keywords"):
        patterns("min_digits: 3\n")
    with pytest.raises(RuleError, match="mapping"):
        patterns("- PO\n")


def test_bad_free_mail_domain() -> None:
    with pytest.raises(RuleError) as info:
        patterns("keywords: [PO]\nfree_mail_domains:\n  - gmail.com\n  - not a domain\n")
    assert info.value.line == 4
