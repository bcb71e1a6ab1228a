"""extract_reply: quote headers, forwards, signatures, footers and disclaimers, per client and language."""

from __future__ import annotations

import time

import pytest

from bot.core.reply import QuotePatterns, extract_reply
from bot.core.yamldoc import parse_yaml
from bot.errors import RuleError
from bot.paths import DEFAULT_RULES_DIR


@pytest.fixture(scope="module")
def quotes() -> QuotePatterns:
    path = DEFAULT_RULES_DIR / "quotes.yaml"
    return QuotePatterns.from_doc(parse_yaml(path.read_text(encoding="utf-8"), str(path)))


QUOTE_HEADERS = [
    # (id, message, expected reply)
    (
        "gmail-en",
        "We paid today.\n\nOn Mon, Mar 4, 2024 at 10:00 AM Alice <alice@example.test> wrote:\n> Please pay\n",
        "We paid today.",
    ),
    (
        "gmail-en-no-blank",
        "We paid today.\nOn Mon, Mar 4, 2024 at 10:00 AM Alice <alice@example.test> wrote:\n> Please pay",
        "We paid today.",
    ),
    (
        "gmail-en-wrapped",
        "Will pay Friday.\n\nOn Mon, Mar 4, 2024 at 10:00 AM, Alice Smith\n<alice@example.test> wrote:\n\n> Please pay",
        "Will pay Friday.",
    ),
    (
        "gmail-en-wrapped-3",
        "Done.\n\nOn Dec 16, 2011, at 12:47 PM, Corey Donohoe\n<reply@example.test>\nwrote:\n\n> Was this",
        "Done.",
    ),
    (
        "apple-en",
        "Paid.\n\n> On 4 Mar 2024, at 10:00, Alice <alice@example.test> wrote:\n> \n> Please pay",
        "Paid.",
    ),
    (
        "gmail-de",
        "Wir zahlen morgen.\n\nAm Mo., 4. März 2024 um 10:00 Uhr schrieb Alice <alice@example.test>:\n> Bitte zahlen",
        "Wir zahlen morgen.",
    ),
    (
        "gmail-de-wrapped",
        "Wir zahlen morgen.\n\nAm Mo., 4. März 2024 um 10:00 Uhr schrieb Alice <\nalice@example.test>:\n> Bitte zahlen",
        "Wir zahlen morgen.",
    ),
    (
        "thunderbird-de",
        "Erledigt.\n\nAm 04.03.2024 um 10:00 schrieb Alice:\n> Bitte zahlen",
        "Erledigt.",
    ),
    (
        "gmail-fr",
        "Nous payons demain.\n\nLe lun. 4 mars 2024 à 10:00, Alice <alice@example.test> a écrit :\n> Merci de payer",
        "Nous payons demain.",
    ),
    (
        "gmail-es",
        "Pagaremos el viernes.\n\nEl lun, 4 mar 2024 a las 10:00, Alice (<alice@example.test>) escribió:\n> Por favor",
        "Pagaremos el viernes.",
    ),
    (
        "gmail-it",
        "Pagheremo venerdì.\n\nIl giorno lun 4 mar 2024 alle ore 10:00 Alice <alice@example.test> ha scritto:\n> Per favore",
        "Pagheremo venerdì.",
    ),
    (
        "gmail-pt",
        "Vamos pagar.\n\nEm seg., 4 de mar. de 2024 às 10:00, Alice <alice@example.test> escreveu:\n> Por favor",
        "Vamos pagar.",
    ),
    (
        "gmail-nl",
        "We betalen morgen.\n\nOp ma 4 mrt. 2024 om 10:00 schreef Alice <alice@example.test>:\n> Graag betalen",
        "We betalen morgen.",
    ),
    (
        "gmail-pl",
        "Zapłacimy jutro.\n\nW dniu 4.03.2024 o 10:00 Alice <alice@example.test> napisał(a):\n> Prosimy",
        "Zapłacimy jutro.",
    ),
    (
        "gmail-sv",
        "Vi betalar i morgon.\n\nmån 4 mars 2024 kl. 10:00 skrev Alice <alice@example.test>:\n> Betala",
        "Vi betalar i morgon.",
    ),
    (
        "gmail-da",
        "Vi betaler i morgen.\n\nDen 4. mar. 2024 kl. 10.00 skrev Alice <alice@example.test>:\n> Betal",
        "Vi betaler i morgen.",
    ),
    (
        "gmail-no",
        "Vi betaler.\n\nman. 4. mar. 2024 kl. 10:00 skrev Alice <alice@example.test\n>:\n> Betal",
        "Vi betaler.",
    ),
    (
        "gmail-fi",
        "Maksamme huomenna.\n\nma 4. maalisk. 2024 klo 10.00 Alice\n<alice@example.test> kirjoitti:\n> Maksakaa",
        "Maksamme huomenna.",
    ),
    (
        "gmail-ru",
        "Оплатим завтра.\n\nпн, 4 мар. 2024 г. в 10:00, Alice <alice@example.test>:\n> Пожалуйста",
        "Оплатим завтра.",
    ),
    (
        "mailru-ru",
        "Оплатим завтра.\n\n04.03.2024 10:00 пользователь Alice <alice@example.test> написал:\n> Пожалуйста",
        "Оплатим завтра.",
    ),
    (
        "gmail-ru-verb",
        "Оплатим завтра.\n\n4 марта 2024 г., в 10:00, Alice <alice@example.test> написал(а):\n> Пожалуйста",
        "Оплатим завтра.",
    ),
    (
        "gmail-zh",
        "我们下周付款。\n\nAlice <alice@example.test> 于2024年3月4日周一 10:00写道：\n> 请付款",
        "我们下周付款。",
    ),
    (
        "apple-zh",
        "已付款。\n\n在 2024年3月4日，10:00，Alice <alice@example.test> 写道：\n\n> 请付款",
        "已付款。",
    ),
    (
        "gmail-zh-tw",
        "已付款。\n\nAlice <alice@example.test> 於 2024年3月4日 週一 上午10:00寫道：\n> 請付款",
        "已付款。",
    ),
    (
        "gmail-ja",
        "明日お支払いします。\n\n2024年3月4日(月) 10:00 Alice <alice@example.test>:\n> お支払いください",
        "明日お支払いします。",
    ),
    (
        "numeric-date",
        'Paid.\n\n30.09.2017, 18.30, "John - Doe" <john@example.test>:\n\nPlease pay',
        "Paid.",
    ),
    (
        "time-first",
        'Paid.\n\n11:00 AM, November 17, 2021, "John - Acme" <john@example.test>:\n\nPlease pay',
        "Paid.",
    ),
    (
        "no-colon",
        "Paid.\n\nOn Wed, 14 Nov 2018 08:14:43 -0200 John Doe <john@example.test> wrote\n\nPlease pay",
        "Paid.",
    ),
]

OUTLOOK_BLOCKS = [
    (
        "outlook-en",
        "We will pay next week.\n\nFrom: Alice <alice@example.test>\nSent: Monday, March 4, 2024 10:00 AM\nTo: Bob\nSubject: Invoice 42\n\nPlease pay",
        "We will pay next week.",
    ),
    (
        "outlook-en-rule",
        "We will pay next week.\n\n________________________________\nFrom: Alice <alice@example.test>\nSent: Monday\nTo: Bob\nSubject: Invoice\n\nPlease pay",
        "We will pay next week.",
    ),
    (
        "outlook-bold",
        "Paid.\n\n**From:** Alice <alice@example.test>\n**Sent:** Monday\n**To:** Bob\n\nPlease pay",
        "Paid.",
    ),
    (
        "outlook-de",
        "Wir zahlen.\n\nVon: Alice <alice@example.test>\nGesendet: Montag, 4. März 2024 10:00\nAn: Bob\nBetreff: Rechnung\n\nBitte",
        "Wir zahlen.",
    ),
    (
        "outlook-fr",
        "Nous payons.\n\nDe : Alice <alice@example.test>\nEnvoyé : lundi 4 mars 2024 10:00\nÀ : Bob\nObjet : Facture\n\nMerci",
        "Nous payons.",
    ),
    (
        "outlook-es",
        "Pagamos.\n\nDe: Alice <alice@example.test>\nEnviado: lunes, 4 de marzo de 2024 10:00\nPara: Bob\nAsunto: Factura\n\nGracias",
        "Pagamos.",
    ),
    (
        "outlook-it",
        "Paghiamo.\n\nDa: Alice <alice@example.test>\nInviato: lunedì 4 marzo 2024 10:00\nA: Bob\nOggetto: Fattura\n\nGrazie",
        "Paghiamo.",
    ),
    (
        "outlook-ru",
        "Оплатим.\n\nОт: Alice <alice@example.test>\nОтправлено: 4 марта 2024 г. 10:00\nКому: Bob\nТема: Счёт\n\nСпасибо",
        "Оплатим.",
    ),
    (
        "outlook-zh",
        "下周付款。\n\n发件人: Alice <alice@example.test>\n发送时间: 2024年3月4日 10:00\n收件人: Bob\n主题: 发票\n\n请付款",
        "下周付款。",
    ),
    (
        "outlook-zh-fullwidth",
        "下周付款。\n\n发件人：Alice <alice@example.test>\n发送时间：2024年3月4日 10:00\n收件人：Bob\n主题：发票\n\n请付款",
        "下周付款。",
    ),
    (
        "outlook-zh-tw",
        "下週付款。\n\n寄件者: Alice <alice@example.test>\n寄件日期: 2024年3月4日 10:00\n收件者: Bob\n主旨: 發票\n\n請付款",
        "下週付款。",
    ),
    (
        "outlook-ja",
        "来週支払います。\n\n差出人: Alice <alice@example.test>\n送信日時: 2024年3月4日 10:00\n宛先: Bob\n件名: 請求書\n\nお願いします",
        "来週支払います。",
    ),
    (
        "outlook-nl",
        "We betalen.\n\nVan: Alice <alice@example.test>\nVerzonden: maandag 4 maart 2024 10:00\nAan: Bob\nOnderwerp: Factuur\n\nGraag",
        "We betalen.",
    ),
    (
        "outlook-pl",
        "Zapłacimy.\n\nOd: Alice <alice@example.test>\nWysłano: poniedziałek, 4 marca 2024 10:00\nDo: Bob\nTemat: Faktura\n\nProsimy",
        "Zapłacimy.",
    ),
    (
        "outlook-flat-html",
        "Paid.\n\nFrom: Alice <alice@example.test> Sent: Monday, March 4, 2024 10:00 AM To: Bob Subject: Invoice\n\nPlease pay",
        "Paid.",
    ),
]

SEPARATORS = [
    (
        "original-message",
        "Paid yesterday.\n\n-----Original Message-----\nFrom: Alice\nPlease pay",
        "Paid yesterday.",
    ),
    (
        "original-message-de",
        "Bezahlt.\n\n-----Ursprüngliche Nachricht-----\nVon: Alice\nBitte",
        "Bezahlt.",
    ),
    ("original-message-fr", "Payé.\n\n----- Message d'origine -----\nDe : Alice\nMerci", "Payé."),
    ("original-message-es", "Pagado.\n\n-----Mensaje original-----\nDe: Alice\nGracias", "Pagado."),
    (
        "foxmail",
        '货款已付。\n\n------------------ 原始邮件 ------------------\n发件人: "Alice"<alice@example.test>;\n发送时间: 2024年3月4日(星期一) 上午10:00\n\n请付款',
        "货款已付。",
    ),
    (
        "foxmail-nbsp",
        'Paid.\n\n------------------&nbsp;Original&nbsp;------------------\nFrom: "Alice"<alice@example.test>;\nDate: Mon, Mar 4, 2024\n\nPlease',
        "Paid.",
    ),
    (
        "forwarded-gmail",
        "See below, our bank sent this.\n\n---------- Forwarded message ---------\nFrom: Bank <bank@example.test>\nDate: Mon, Mar 4, 2024\nSubject: Transfer\n\nTransfer done",
        "See below, our bank sent this.",
    ),
    (
        "begin-forwarded",
        "FYI\n\nBegin forwarded message:\n\nFrom: Bank <bank@example.test>\nSubject: Transfer\n\nTransfer done",
        "FYI",
    ),
    (
        "yahoo-inline",
        "Paid.\n\n----- Forwarded Message ----- From: Alice <alice@example.test>To: Bob Subject: Invoice\n Please pay",
        "Paid.",
    ),
]

SIGNATURES = [
    (
        "sig-delimiter",
        "We will pay on Friday.\n\n-- \nBob Buyer\nACME Ltd",
        "We will pay on Friday.",
    ),
    ("iphone", "Paid.\n\nSent from my iPhone", "Paid."),
    ("iphone-zh", "已付款\n\n发自我的iPhone", "已付款"),
    ("iphone-de", "Bezahlt.\n\nVon meinem iPhone gesendet", "Bezahlt."),
    ("iphone-fr", "Payé.\n\nEnvoyé de mon iPhone", "Payé."),
    ("iphone-es", "Pagado.\n\nEnviado desde mi iPhone", "Pagado."),
    ("iphone-it", "Pagato.\n\nInviato da iPhone", "Pagato."),
    ("iphone-ru", "Оплачено.\n\nОтправлено с iPhone", "Оплачено."),
    ("outlook-android", "Paid.\n\nSent from Outlook for Android", "Paid."),
    ("outlook-ios", "Paid.\n\nGet Outlook for iOS<https://aka.ms/o0ukef>", "Paid."),
    ("netease", "已付款\n\n发自网易邮箱大师", "已付款"),
    ("qq", "已付款\n\n来自QQ邮箱", "已付款"),
    ("blackberry", "Paid.\n\nSent from my BlackBerry® wireless device", "Paid."),
    (
        "sign-off-en",
        "We transferred the deposit today.\n\nBest regards,\nBob Buyer\nPurchasing Manager\nACME Ltd",
        "We transferred the deposit today.",
    ),
    (
        "sign-off-de",
        "Die Anzahlung ist unterwegs.\n\nMit freundlichen Grüßen\nBob Käufer",
        "Die Anzahlung ist unterwegs.",
    ),
    ("sign-off-fr", "Le virement est parti.\n\nCordialement,\nBob", "Le virement est parti."),
    ("sign-off-es", "Ya pagamos.\n\nSaludos cordiales,\nBob", "Ya pagamos."),
    ("sign-off-zh", "货款已安排。\n\n此致\n敬礼\n王先生", "货款已安排。"),
    ("sign-off-ru", "Оплатили.\n\nС уважением,\nБорис", "Оплатили."),
    ("sign-off-emoji", "Thanks for the update!\n\nCheers 🎉\nSarah", "Thanks for the update!"),
    ("name-mark", "Thanks, paid.\n\n-Abhishek Kona", "Thanks, paid."),
    (
        "contact-block",
        "We pay next week.\n\nGina Buyer\ngina@example.test\n(555) 346-9947\nwww.example.test",
        "We pay next week.",
    ),
    (
        "disclaimer",
        "Paid.\n\nCONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and intended solely for the addressee.",
        "Paid.",
    ),
    (
        "disclaimer-de",
        "Bezahlt.\n\nDiese E-Mail enthält vertrauliche und/oder rechtlich geschützte Informationen.",
        "Bezahlt.",
    ),
    ("disclaimer-zh", "已付款。\n\n本邮件及其附件含有保密信息，仅供指定收件人使用。", "已付款。"),
    (
        "banner",
        "CAUTION: This email originated from outside of the organization. Do not click links.\n\nWe paid the invoice.",
        "We paid the invoice.",
    ),
]

NOT_SIGNATURES = [
    (
        "regards-in-sentence",
        "I am writing with regards to the payment.\n\nAs regards the timeline, Friday.",
        "I am writing with regards to the payment.\n\nAs regards the timeline, Friday.",
    ),
    (
        "sent-from-in-sentence",
        "The money was sent from my company account.\nSent from my desk, is much easier than my phone.",
        "The money was sent from my company account.\nSent from my desk, is much easier than my phone.",
    ),
    (
        "thanks-then-text",
        "Thanks!\n\nWe will pay the balance on 15 March.\nPlease send the B/L copy first.",
        "Thanks!\n\nWe will pay the balance on 15 March.\nPlease send the B/L copy first.",
    ),
    (
        "on-at-line-start",
        "On Monday we will pay.\nOn the other hand, the goods are late.",
        "On Monday we will pay.\nOn the other hand, the goods are late.",
    ),
    (
        "from-in-body",
        "The transfer comes from: our HSBC account.\nThe data comes From: our bank.",
        "The transfer comes from: our HSBC account.\nThe data comes From: our bank.",
    ),
    (
        "dash-table",
        "Items:\n------------------------------------\nRegistration Jun 27, 2018 example.test in the long list of items we will need to pay for soon\n\nThanks",
        "Items:\n------------------------------------\nRegistration Jun 27, 2018 example.test in the long list of items we will need to pay for soon",
    ),
    ("only-thanks", "Thanks,\nBob", "Thanks,\nBob"),
    (
        "gmail-ko",
        "송금 완료했습니다.\n\n2025년 3월 31일 (월) 오전 8:03, Lily <lily@example.test>님이 작성:\n> 잔금",
        "송금 완료했습니다.",
    ),
    (
        "gmail-vi",
        "Đã thanh toán.\n\nVào Th 2, 5 thg 5, 2025 vào lúc 06:03 Lily <lily@example.test> đã viết:\n> x",
        "Đã thanh toán.",
    ),
    (
        "gmail-id",
        "Sudah dibayar.\n\nPada tanggal Sen, 5 Mei 2025 pukul 06.03 Lily <lily@example.test> menulis:\n> x",
        "Sudah dibayar.",
    ),
    (
        "company-block-without-delimiter",
        (
            "Paid today. Cheers, Mike\n\nMike O'Brien\nCeltic Build Supplies Ltd.\n"
            "Unit 7, Ballymount Industrial Estate\n\n"
            "Please consider the environment before printing this e-mail."
        ),
        "Paid today. Cheers, Mike",
    ),
    ("korean-phone-footer", "잔금 보냈습니다.\n\niPhone에서 보냄", "잔금 보냈습니다."),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in QUOTE_HEADERS], ids=[c[0] for c in QUOTE_HEADERS]
)
def test_quote_headers_cut_the_history(quotes: QuotePatterns, text: str, expected: str) -> None:
    assert extract_reply(text, quotes) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in OUTLOOK_BLOCKS], ids=[c[0] for c in OUTLOOK_BLOCKS]
)
def test_outlook_header_blocks_in_many_languages(
    quotes: QuotePatterns, text: str, expected: str
) -> None:
    assert extract_reply(text, quotes) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in SEPARATORS], ids=[c[0] for c in SEPARATORS]
)
def test_separator_lines(quotes: QuotePatterns, text: str, expected: str) -> None:
    assert extract_reply(text, quotes) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in SIGNATURES], ids=[c[0] for c in SIGNATURES]
)
def test_signatures_footers_and_disclaimers_are_cut(
    quotes: QuotePatterns, text: str, expected: str
) -> None:
    assert extract_reply(text, quotes) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in NOT_SIGNATURES], ids=[c[0] for c in NOT_SIGNATURES]
)
def test_text_that_only_looks_like_a_signature_stays(
    quotes: QuotePatterns, text: str, expected: str
) -> None:
    assert extract_reply(text, quotes) == expected


def test_quoted_lines_go_and_inline_answers_stay(quotes: QuotePatterns) -> None:
    text = "> When will you pay?\n\nNext Friday.\n\n> And the balance?\n\nIn April."
    assert extract_reply(text, quotes) == "Next Friday.\n\nIn April."


def test_reply_written_below_the_quote(quotes: QuotePatterns) -> None:
    text = "On Mon, Mar 4, 2024 at 10:00 AM Alice <alice@example.test> wrote:\n> Please pay invoice 42.\n\nWe paid it this morning.\n"
    assert extract_reply(text, quotes) == "We paid it this morning."


def test_greeting_above_and_answer_below(quotes: QuotePatterns) -> None:
    text = "Hi,\n\nOn Mon, Mar 4, 2024 at 10:00 AM Alice <alice@example.test> wrote:\n> Please pay.\n\nPaid today.\n"
    assert extract_reply(text, quotes) == "Hi,\n\nPaid today."


def test_a_bare_forward_gives_the_forwarded_text(quotes: QuotePatterns) -> None:
    text = (
        "---------- Forwarded message ---------\nFrom: Bank <bank@example.test>\nDate: Mon, Mar 4, 2024\n"
        "Subject: Transfer\nTo: Bob <bob@example.test>\n\nYour transfer of USD 5,000 was sent.\n\n"
        "On Sun, Mar 3, 2024 Bob <bob@example.test> wrote:\n> please send\n"
    )
    assert extract_reply(text, quotes) == "Your transfer of USD 5,000 was sent."


def test_nothing_above_a_reply_header_is_an_empty_reply(quotes: QuotePatterns) -> None:
    # Outlook "reply" with no new text (e.g. only an attachment): our own reminder is not their text
    text = "From: Alice <alice@example.test>\nSent: Monday\nTo: Bob\nSubject: Reminder\n\nWhen will you pay?"
    assert extract_reply(text, quotes) == ""
    assert extract_reply("Sent from my iPhone\n\n* * *\n\n" + text, quotes) == ""
    assert extract_reply("> When will you pay?\n> Alice", quotes) == ""


def test_forwarded_subject_makes_a_header_block_a_forward(quotes: QuotePatterns) -> None:
    text = "From: Bank <bank@example.test>\nSent: Monday\nTo: Bob\nSubject: Payment advice\n\nUSD 5,000 sent to Ningbo Haoxin."
    assert extract_reply(text, quotes, forwarded=True) == "USD 5,000 sent to Ningbo Haoxin."


def test_a_forward_quoted_whole_by_apple_mail(quotes: QuotePatterns) -> None:
    text = "> Begin forwarded message:\n>\n> From: Bank <bank@example.test>\n> Subject: Transfer\n>\n> Transfer sent.\n"
    assert extract_reply(text, quotes) == "Transfer sent."


def test_text_before_a_blank_line_and_header_is_kept(quotes: QuotePatterns) -> None:
    text = "First paragraph.\n\nSecond paragraph.\n\n\nOn Mon, Mar 4, 2024 Alice <alice@example.test> wrote:\n> x"
    assert extract_reply(text, quotes) == "First paragraph.\n\nSecond paragraph."


def test_crlf_cr_and_nbsp_are_normalised(quotes: QuotePatterns) -> None:
    text = (
        "Paid\u00a0today.\r\n\r\nOn Mon, Mar 4, 2024 Alice <alice@example.test> wrote:\r\n> x\r\n"
    )
    assert extract_reply(text, quotes) == "Paid today."
    assert extract_reply("Paid.\rSent from my iPhone\r", quotes) == "Paid."


def test_html_blockquote_converted_text(quotes: QuotePatterns) -> None:
    text = "We paid.\n\nOn Mon, Mar 4, 2024 at 10:00 AM Alice <alice@example.test> wrote:\n\n> Dear Bob,\n>\n> please pay."
    assert extract_reply(text, quotes) == "We paid."


def test_empty_and_quote_only_messages(quotes: QuotePatterns) -> None:
    assert extract_reply("", quotes) == ""
    assert extract_reply("\n\n  \n", quotes) == ""
    assert extract_reply("-- \nBob", quotes) == ""


def test_long_hostile_input_is_fast(quotes: QuotePatterns) -> None:
    nasty = ("On " + "a" * 5000 + " wrote\n") * 40 + ("> " + "x" * 200 + "\n") * 3000
    lines = "\n".join(f"On {i} wrote something long: " + "word " * 40 for i in range(3000))
    start = time.perf_counter()
    extract_reply("Paid.\n\n" + nasty, quotes)
    extract_reply(lines, quotes)
    assert time.perf_counter() - start < 2.0  # linear scans: about 0.1 s when the machine is idle


def test_typical_replies_are_fast(quotes: QuotePatterns) -> None:
    text = "\n".join(c[1] for c in QUOTE_HEADERS[:10] + OUTLOOK_BLOCKS[:5])
    start = time.perf_counter()
    for _ in range(300):
        extract_reply(text, quotes)
    assert time.perf_counter() - start < 1.0  # 300 messages: about 0.1 s when idle


def test_a_new_client_is_data_not_code() -> None:
    doc = parse_yaml("separators:\n  - '~~~ Mensagem do NovoMail ~~~'\n", "quotes.yaml")
    patterns = QuotePatterns.from_doc(doc)
    assert extract_reply("Pago.\n~~~ Mensagem do NovoMail ~~~\nOlá", patterns) == "Pago."


def test_a_bad_regex_names_its_line() -> None:
    doc = parse_yaml("separators:\n  - 'ok'\n  - '(unclosed'\n", "rules/quotes.yaml")
    with pytest.raises(RuleError) as caught:
        QuotePatterns.from_doc(doc)
    assert caught.value.line == 3
    assert "rules/quotes.yaml:3" in str(caught.value)
    assert "separators.1" in str(caught.value)


def test_an_unknown_key_names_its_line() -> None:
    doc = parse_yaml("max_chars: 100\nsepartors: []\n", "rules/quotes.yaml")
    with pytest.raises(RuleError) as caught:
        QuotePatterns.from_doc(doc)
    assert caught.value.line == 2


def test_a_wrong_type_names_its_line() -> None:
    doc = parse_yaml("max_chars: many\n", "rules/quotes.yaml")
    with pytest.raises(RuleError) as caught:
        QuotePatterns.from_doc(doc)
    assert caught.value.line == 1
