"""Language detection: lingua over a fixed set, the script for short texts, "" when unknown."""

from __future__ import annotations

import pytest

from bot.core.language import detect_language, script_language


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("We will pay the balance next Friday, sorry for the delay.", "en"),
        ("Wir haben die Rechnung noch nicht bezahlt, weil unser Kunde nicht gezahlt hat.", "de"),
        ("Todavía no hemos pagado porque esperamos la aprobación del director.", "es"),
        ("Nous n'avons pas encore payé la facture, désolé pour le retard.", "fr"),
        ("Il bonifico sarà effettuato la prossima settimana, grazie.", "it"),
        ("O pagamento será efetuado na próxima semana, obrigado.", "pt"),
        ("Мы оплатим счёт в понедельник, извините за задержку.", "ru"),
        ("Ödemeyi gelecek hafta yapacağız, gecikme için özür dileriz.", "tr"),
        ("سوف ندفع المبلغ المتبقي الأسبوع القادم", "ar"),
        ("我们下周五付款，不好意思。", "zh"),
        ("我們下週五付款，不好意思。", "zh"),
        ("来週の金曜日に送金いたします。", "ja"),
        ("다음 주 금요일에 송금하겠습니다.", "ko"),
        ("Betaling volgt volgende week, excuses voor de vertraging.", "nl"),
    ],
)
def test_detects(text: str, want: str) -> None:
    assert detect_language(text) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("好的", "zh"),
        ("了解", "zh"),
        ("了解です", "ja"),
        ("감사", "ko"),
        ("شكرا", "ar"),
        ("Да", "ru"),
    ],
)
def test_short_texts_by_script(text: str, want: str) -> None:
    assert detect_language(text) == want


@pytest.mark.parametrize(
    "text", ["", "   ", "12345", "ok", "https://example.com", "+44 113 496 0123"]
)
def test_unknown_is_empty(text: str) -> None:
    assert detect_language(text) == ""


def test_chinese_with_latin_order_numbers_is_chinese() -> None:
    assert detect_language("PO-2025-0142 的尾款我们已经付了，PI 上的金额没问题") == "zh"


def test_english_with_chinese_signature_is_english() -> None:
    assert (
        detect_language("Hi Lily, we have paid the balance today, please check. Thanks, 王磊")
        == "en"
    )


def test_script_of_latin_text_is_empty() -> None:
    assert script_language("plain latin text") == ""


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Oi Lucía, o valor do saldo já considera o desconto de 3% que combinamos?", "pt"),
        ("No, no hemos pagado todavía, lo siento.", "es"),
        ("Bom dia, o pagamento será feito amanhã.", "pt"),
        ("Hola, la transferencia sale mañana.", "es"),
    ],
)
def test_spanish_and_portuguese_apart(text: str, want: str) -> None:
    assert detect_language(text) == want


@pytest.mark.parametrize(
    "text",
    ["pls check ur bank bro money sent", "ok got it will pay tmrw", "wait them first then we pay u"],
)
def test_short_chat_english_is_english(text: str) -> None:
    assert detect_language(text) == "en"


def test_short_text_of_another_language_stays_itself() -> None:
    assert detect_language("Danke, wir haben die Rechnung erhalten.") == "de"
    assert detect_language("Merci, nous avons bien reçu la facture.") == "fr"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("vou pagar semana que vem blz", "pt"),
        ("vc pode esperar ate sexta? tá difícil aqui", "pt"),
        ("je paie la semaine prochaine", "fr"),
        ("pagherò la settimana prossima, grazie mille", "it"),
    ],
)
def test_brazilian_chat_is_portuguese_not_french_or_italian(text: str, want: str) -> None:
    assert detect_language(text) == want
