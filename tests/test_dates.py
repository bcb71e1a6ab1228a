"""Promised payment dates and return dates, resolved against a fixed Date header."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from bot.core.date_rules import DatePatterns
from bot.core.dates import arabic_numerals, find_dates, pick_date
from bot.core.yamldoc import parse_yaml
from bot.errors import RuleError
from bot.paths import DEFAULT_RULES_DIR

BASE = date(2026, 3, 4)  # a Wednesday


@pytest.fixture(scope="module")
def patterns() -> DatePatterns:
    path = DEFAULT_RULES_DIR / "intents.yaml"
    return DatePatterns.from_doc(parse_yaml(path.read_text(encoding="utf-8"), str(path)))


PAYMENT = [
    ("en", "We will pay next Friday.", date(2026, 3, 6)),
    ("en", "Payment by the end of next month.", date(2026, 4, 30)),
    ("en", "We pay by the 15th.", date(2026, 3, 15)),
    ("en", "We pay by the 2nd.", date(2026, 4, 2)),
    ("en", "Transfer tomorrow.", date(2026, 3, 5)),
    ("en", "habibi tmrw inshallah i transfer", date(2026, 3, 5)),
    ("en", "will pay 2moro sure", date(2026, 3, 5)),
    ("en", "We will pay within 10 days.", date(2026, 3, 14)),
    ("en", "Balance will be released on or before 10th July 2026.", date(2026, 7, 10)),
    ("en", "We'll release the balance by April 30 at the latest.", date(2026, 4, 30)),
    ("en", "The transfer is scheduled for Friday 17/04.", date(2026, 4, 17)),
    ("en", "We will pay end of this month.", date(2026, 3, 31)),
    ("en", "We will pay next week on Tuesday.", date(2026, 3, 10)),
    ("zh", "我们下周五付款。", date(2026, 3, 13)),
    ("zh", "月底付款。", date(2026, 3, 31)),
    ("zh", "下个月初安排付款。", date(2026, 4, 1)),
    ("zh", "本周五（6号）一定付款。", date(2026, 3, 6)),
    ("zh", "3月20日之前付清。", date(2026, 3, 20)),
    ("zh", "明天付款。", date(2026, 3, 5)),
    ("zht", "尾數我哋今個禮拜五會過。", date(2026, 3, 6)),
    ("de", "Wir zahlen nächsten Dienstag.", date(2026, 3, 10)),
    ("de", "Zahlung Ende des Monats.", date(2026, 3, 31)),
    ("de", "Zahlung erfolgt am 20.03.2026.", date(2026, 3, 20)),
    ("de", "Wir überweisen am 25. März.", date(2026, 3, 25)),
    ("es", "Pagaremos a fin de mes.", date(2026, 3, 31)),
    ("es", "Pagaremos la próxima semana.", date(2026, 3, 11)),
    ("es", "El pago se programó para el 2 de abril.", date(2026, 4, 2)),
    ("es", "Mañana hacemos la transferencia.", date(2026, 3, 5)),
    ("fr", "Nous paierons la semaine prochaine.", date(2026, 3, 11)),
    ("fr", "Le virement partira vendredi prochain.", date(2026, 3, 6)),
    ("fr", "Paiement le 12 mars.", date(2026, 3, 12)),
    ("it", "Pagheremo il 20 marzo.", date(2026, 3, 20)),
    ("it", "Il bonifico partirà a fine mese.", date(2026, 3, 31)),
    ("pt", "Vamos pagar no dia 20.", date(2026, 3, 20)),
    ("pt", "O pagamento será feito em 15 de abril.", date(2026, 4, 15)),
    ("ru", "Оплатим в понедельник.", date(2026, 3, 9)),
    ("ru", "Оплата будет 20 марта.", date(2026, 3, 20)),
    ("ja", "来週の金曜日に支払います。", date(2026, 3, 13)),
    ("ja", "3月20日に送金します。", date(2026, 3, 20)),
    ("tr", "Ödemeyi gelecek hafta yapacağız.", date(2026, 3, 11)),
    ("tr", "Ödemeyi 20 Mart tarihinde yapacağız.", date(2026, 3, 20)),
    ("ar", "سوف ندفع الأسبوع القادم", date(2026, 3, 11)),
]


@pytest.mark.parametrize(("lang", "text", "want"), PAYMENT)
def test_payment_date(patterns: DatePatterns, lang: str, text: str, want: date) -> None:
    assert pick_date(text, BASE, patterns, [lang[:2], "en"], "payment") == want


RETURNS = [
    ("en", "I am out of the office until Monday 16 March.", date(2026, 3, 16)),
    (
        "en",
        "I'm on leave from 04-Mar-2026 to 08-Mar-2026 and will be back on 09-Mar-2026.",
        date(2026, 3, 9),
    ),
    ("en", "I will be back on 23 March.", date(2026, 3, 23)),
    ("de", "Ich bin ab dem 12.08. wieder im Büro.", date(2026, 8, 12)),
    ("zh", "我将于8月5日返回。", date(2026, 8, 5)),
    ("zh", "五一放假（5月1日至5月5日），5月6日正常上班。", date(2026, 5, 6)),
    (
        "es",
        "Estaré de vacaciones hasta el 29 de marzo. Volveré el lunes 30 de marzo.",
        date(2026, 3, 30),
    ),
    ("fr", "Le service est fermé jusqu'au 18 mars. Retour le lundi 23 mars.", date(2026, 3, 23)),
    ("it", "Ufficio chiuso dal 4 al 22 marzo. Riapriremo lunedì 23 marzo.", date(2026, 3, 23)),
]


@pytest.mark.parametrize(("lang", "text", "want"), RETURNS)
def test_return_date(patterns: DatePatterns, lang: str, text: str, want: date) -> None:
    assert pick_date(text, BASE, patterns, [lang, "en"], "return") == want


def test_response_time_is_no_return_date(patterns: DatePatterns) -> None:
    text = "Your request has been received. We will get back to you within 2 working days."
    assert pick_date(text, BASE, patterns, ["en"], "return") is None


@pytest.mark.parametrize(
    "text",
    [
        "We paid last Friday.",
        "El pago se hizo el viernes pasado.",
        "Paid on 2 March.",
        "Thanks for your mail.",
        "We ordered 500 pcs at 12.50 USD, 3.5% discount.",
        "下周一定pay给你 放心",  # 下周 + 一定 ("surely"), not 下周一 (next Monday)
    ],
)
def test_no_future_payment_date(patterns: DatePatterns, text: str) -> None:
    assert pick_date(text, BASE, patterns, ["en", "es", "zh"], "payment") is None


def test_date_near_payment_beats_other_dates(patterns: DatePatterns) -> None:
    text = "The goods will arrive on 20 March. We will pay on 25 March."
    assert pick_date(text, BASE, patterns, ["en"], "payment") == date(2026, 3, 25)


def test_require_cue_ignores_dates_not_about_paying(patterns: DatePatterns) -> None:
    text = "See you at the fair on 20 March."
    assert pick_date(text, BASE, patterns, ["en"], "payment") == date(2026, 3, 20)
    assert pick_date(text, BASE, patterns, ["en"], "payment", require_cue=True) is None


def test_same_phrase_other_base(patterns: DatePatterns) -> None:
    assert pick_date("下周五付款", date(2026, 3, 9), patterns, ["zh"], "payment") == date(
        2026, 3, 20
    )
    assert pick_date("月底付款", date(2026, 2, 10), patterns, ["zh"], "payment") == date(
        2026, 2, 28
    )


def test_year_rolls_over_for_early_months(patterns: DatePatterns) -> None:
    base = date(2026, 12, 20)
    assert pick_date("We pay on 5 January.", base, patterns, ["en"], "payment") == date(2027, 1, 5)
    assert pick_date("Zahlung Anfang nächsten Monats", base, patterns, ["de"], "payment") == date(
        2027, 1, 1
    )


def test_found_dates_do_not_overlap(patterns: DatePatterns) -> None:
    found = find_dates("by Monday, 9 March", BASE, patterns, ["en"])
    assert [f.value for f in found] == [date(2026, 3, 9)]


def test_bad_phrase_names_file_and_line() -> None:
    text = "intents: {}\ndates:\n  phrases:\n    en:\n      - {pattern: '(x'}\n"
    with pytest.raises(RuleError) as err:
        DatePatterns.from_doc(parse_yaml(text, "rules/intents.yaml"))
    assert err.value.path == "rules/intents.yaml" and err.value.line == 5


def test_month_list_needs_twelve() -> None:
    text = "dates:\n  months:\n    xx: [a, b]\n"
    with pytest.raises(RuleError) as err:
        DatePatterns.from_doc(parse_yaml(text, "intents.yaml"))
    assert err.value.line == 3 and "12 months" in str(err.value)


@pytest.mark.parametrize(
    ("lang", "text"),
    [("nl", "Wij betalen op 20 maart de rest van het bedrag."), ("pl", "Zapłacimy 20 marca.")],
)
def test_dateparser_covers_languages_without_phrases(
    patterns: DatePatterns, lang: str, text: str
) -> None:
    assert lang not in patterns.phrases
    assert pick_date(text, BASE, patterns, [lang], "payment") == date(2026, 3, 20)


def test_vague_phrases_are_marked(patterns: DatePatterns) -> None:
    """ "next week" still counts as a coming date (it makes a promise) but names no day."""
    vague = {f.vague for f in find_dates("We pay next week.", BASE, patterns, ["en"])}
    assert vague == {True}
    for text in ("We pay next Friday.", "We pay by end of next month.", "Paid on the 20th."):
        assert not any(f.vague for f in find_dates(text, BASE, patterns, ["en"])), text
    assert [f.vague for f in find_dates("Anfang nächsten Monats", BASE, patterns, ["de"])] == [True]


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("fr", "Je suis en congé maternité à partir de demain, ma collègue reprend le dossier."),
        ("en", "I am on leave starting tomorrow, my colleague will reply."),
        ("es", "Estaré de vacaciones a partir del 10 de marzo."),
    ],
)
def test_where_an_absence_starts_is_no_return_date(
    patterns: DatePatterns, lang: str, text: str
) -> None:
    assert pick_date(text, BASE, patterns, [lang, "en"], "return") is None


def test_a_start_word_with_a_return_after_it_is_a_return(patterns: DatePatterns) -> None:
    text = "Ab dem 16.03. bin ich wieder im Büro."
    assert pick_date(text, BASE, patterns, ["de"], "return") == date(2026, 3, 16)


def test_chinese_numerals_in_dates(patterns: DatePatterns) -> None:
    assert arabic_numerals("七月一日返回，十二月二十五日，三号") == "7月1日返回，12月25日，3号"
    assert arabic_numerals("星期一付款") == "星期一付款"
    assert pick_date("将于七月一日返回办公室", BASE, patterns, ["zh"], "return") == date(2026, 7, 1)
    assert pick_date("尾款十五号付", BASE, patterns, ["zh"], "payment") == date(2026, 3, 15)


VALUE_DATED = [
    ("it", "Il bonifico è stato disposto il 2 marzo con valuta beneficiario 6 marzo."),
    ("it", "Bonifico eseguito, data valuta 06/03/2026."),
    ("it", "Abbiamo pagato, valuta fissa 10 marzo."),
    ("en", "The transfer was made yesterday, value date 6 March 2026."),
    ("en", "Payment sent on 3 March with value date of 06.03.2026."),
    ("en", "Wire released, val. date 10/03/2026."),
    ("de", "Die Überweisung ist erfolgt, Valuta 06.03.2026."),
    ("de", "Wir haben gestern überwiesen, Wertstellung am 06.03.2026."),
    ("es", "Hemos pagado la factura, fecha valor 6 de marzo."),
    ("es", "Transferencia realizada con fecha de valor 10/03/2026."),
    ("fr", "Le virement a été émis, date de valeur le 6 mars."),
    ("pt", "O pagamento foi feito, data valor 06/03/2026."),
]


@pytest.mark.parametrize(("lang", "text"), VALUE_DATED)
def test_a_value_date_of_a_made_payment_is_no_promise(
    patterns: DatePatterns, lang: str, text: str
) -> None:
    assert pick_date(text, BASE, patterns, [lang, "en"], "payment") is None
    assert pick_date(text, BASE, patterns, [lang, "en"], "payment", require_cue=True) is None


@pytest.mark.parametrize(
    ("lang", "text", "want"),
    [
        ("it", "Pagheremo in valuta EUR il 20 marzo.", date(2026, 3, 20)),
        ("en", "Value date aside, we will pay on 20 March.", date(2026, 3, 20)),
        ("de", "Valuta war der 03.03., den Rest zahlen wir am 20.03.2026.", date(2026, 3, 20)),
        ("fr", "Nous paierons le 20 mars (valeur du stock inchangée).", date(2026, 3, 20)),
    ],
)
def test_a_promise_next_to_value_words_stays_a_promise(
    patterns: DatePatterns, lang: str, text: str, want: date
) -> None:
    assert pick_date(text, BASE, patterns, [lang, "en"], "payment") == want


def test_value_date_cues_are_data(patterns: DatePatterns) -> None:
    text = "paid, value date 20.03.2026"
    assert pick_date(text, BASE, patterns, ["en"], "payment") is None
    off = dataclasses.replace(patterns, value_date_cue=None)
    assert pick_date(text, BASE, off, ["en"], "payment") == date(2026, 3, 20)
    with pytest.raises(RuleError, match="value_date_cues") as info:
        DatePatterns.from_doc(parse_yaml("dates:\n  value_date_cues: '(?:valuta'\n", "x.yaml"))
    assert info.value.line == 2
