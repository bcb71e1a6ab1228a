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


# ---------------------------------------------------------------- broader real-world forms
@pytest.mark.parametrize(
    "text",
    [
        "P/O 4711",
        "P/O# 4711 is paid",
        "PO no. 4711",
        "order no. 4711",
        "order #4711",
        "Order Number: 4711",
        "sales order 4711",
        "our ref: 4711",
        "Our reference 4711",
        "your ref. 4711",
        "Invoice No. 4711",
        "inv. 4711",
        "proforma 4711",
        "pro-forma invoice no 4711",
        "Auftragsnummer 4711",
        "Auftragsnummer: 4711",
        "Auftrags-Nr. 4711",
        "Bestellnummer 4711",
        "Bestellnr. 4711",
        "Rechnungsnummer 4711",
        "Ihr Auftrag 4711",
        "bon de commande n° 4711",
        "numéro de commande : 4711",
        "facture n° 4711",
        "pedido nº 4711",
        "pedido n.º 4711",
        "Pedido No. 4711",
        "número de pedido 4711",
        "orden de compra 4711",
        "factura núm. 4711",
        "ordine n. 4711",
        "fattura nr. 4711",
        "encomenda nº 4711",
        "sua encomenda 4711",
        "fatura 4711",
        "заказ № 4711",
        "по заказу №4711",
        "счёт № 4711",
        "sipariş numarası 4711",
        "Sipariş No: 4711",
        "订单号 4711",
        "订单 4711",
        "合同号：4711",
        "注文番号 4711",
        "発注番号：4711",
        "주문번호 4711",
        "طلب رقم 4711",
        "الطلب رقم ٤٧١١",
        "فاتورة رقم 4711",
        "bestelling 4711",
        "zamówienie nr 4711",
    ],
)
def test_keyword_and_number_in_many_languages(shipped: OrderPatterns, text: str) -> None:
    assert find_order_numbers(text, shipped) == ["4711"]


@pytest.mark.parametrize(
    ("text", "stated"),
    [
        ("AW: Zahlungserinnerung Auftrag AB-27091", "AB-27091"),
        ("Auftragsbestätigung AB-27091", "AB-27091"),
        ("Re: Payment reminder: INV-2025-118 balance due", "INV-2025-118"),
        ("invoice INV-2025-118", "INV-2025-118"),
        ("SO-88123 is paid", "SO-88123"),
        ("please see SO88123", "SO88123"),
        ("PI20250117 attached", "PI20250117"),
        ("balance of PI-2025-0117.", "PI-2025-0117"),
        ("our order ORD-55120 was delivered", "ORD-55120"),
        ("contract SC-2025-031", "SC-2025-031"),
        ("OC#70021 confirmed", "OC#70021"),
        ("Bestellung Nr. AB-27091", "AB-27091"),
        ("pedido nº PV-10234", "PV-10234"),
        ("commande n° CMD2025-0042", "CMD2025-0042"),
        ("订单号：HT-2025-001", "HT-2025-001"),
        ("re: po-2025-0142", "PO-2025-0142"),
        ("(AB-27091)", "AB-27091"),
    ],
)
def test_ids_with_a_letter_prefix_are_found_and_reported_whole(
    shipped: OrderPatterns, text: str, stated: str
) -> None:
    assert find_order_numbers(text, shipped) == [stated]


@pytest.mark.parametrize(
    "text",
    [
        # dates, times, periods
        "invoice 2025-01-17 attached",
        "Rechnung vom 17.01.2025",
        "order of 17/01/2025",
        "order 20250117T1200",
        "order Q3-2025",
        "invoice H1/2025",
        "Auftrag KW12/2025",
        # amounts
        "invoice USD12500",
        "Rechnung EUR-1.250,00",
        "order 1,250.00",
        "factura 12.500,00 €",
        "pedido 3000 unidades",
        "заказ 500 шт",
        "sipariş 200 adet",
        "طلب 500 قطعة",
        # phones
        "order hotline 400-123-4567",
        "Auftrag Tel-0301234567",
        "PO tel0301234567",
        "pedido 13912345678",
        # bank and tracking
        "invoice DE89370400440532013000",
        "payment for order GB82WEST12345698765432",
        "Rechnung: IBAN DE89 3704 0044 0532 0130 00, BIC DEUTDEFF500",
        "order RR123456789CN shipped",
        "order 1Z999AA10123456784",
        "SWIFT BOFAUS3N, order follows",
        # postcodes and addresses, message ids
        "commande livrée à F-75001 Paris",
        "Auftrag an D-10115 Berlin",
        "order1234@shop.example.com",
        "Message-ID: <ab5e0871163dd5d9.reminder@mail.example.com>",
        "write to orders@ab12345.example.com",
        # prefixes written as words, not glued
        "ab 1000 Stück liefern wir",
        "so 500 more next month",
        "AB 27091",
        "the AB5E0871163DD5D9 queue id",
        "INV 12",
        "SO-12",
        # keywords without a number
        "orders 4711 and more",
        "reorder 4711",
        "the import 4711 is late",
    ],
)
def test_refuses_what_only_looks_like_an_order_number(shipped: OrderPatterns, text: str) -> None:
    assert find_order_numbers(text, shipped) == []


def test_glued_ids_and_keyword_numbers_keep_their_order(shipped: OrderPatterns) -> None:
    text = "SO-88123 replaces order 4711; see also Auftrag AB-27091 and SO88123 again"
    assert find_order_numbers(text, shipped) == ["SO-88123", "4711", "AB-27091"]


def test_a_valid_iban_is_refused_but_a_similar_id_is_not(shipped: OrderPatterns) -> None:
    assert find_order_numbers("order DE89370400440532013000", shipped) == []
    assert find_order_numbers("order DE89370400440532013001", shipped) == ["DE89370400440532013001"]


def test_prefixes_are_configurable() -> None:
    pats = patterns("keywords: [order]\nprefixes: ['HT']\n")
    assert find_order_numbers("HT-2025-001 and SO-88123", pats) == ["HT-2025-001"]
    assert find_order_numbers("HT 2025", pats) == []


def test_bad_prefix_names_file_and_line() -> None:
    with pytest.raises(RuleError) as info:
        patterns("keywords: [order]\nprefixes:\n  - AB\n  - 'S(O'\n")
    assert info.value.line == 4


def test_arabic_indic_digits_compare_as_ascii() -> None:
    assert same_order_number("٤٧١١", "PO-4711")
    assert order_key("SO-٨٨١٢٣") == "SO88123"


def test_deduplicates_like_same_order_number(shipped: OrderPatterns) -> None:
    text = "order 4711, PO-4711, SO-4711, so-4711 and PO-4712, SO-4712, so 4712, order 4712"
    assert find_order_numbers(text, shipped) == ["4711", "PO-4712", "SO-4712"]
    many = " ".join(f"SO-{i:05d} order {i + 50000}" for i in range(2000))
    found = find_order_numbers(many, shipped)
    assert len(found) == 4000
    assert found[:4] == ["SO-00000", "50000", "SO-00001", "50001"]
