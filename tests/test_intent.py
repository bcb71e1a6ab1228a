"""Intent patterns (rules/intents.yaml through bot.core.intent): languages, negation, precedence."""

from __future__ import annotations

import pytest

from bot.core.intent import IntentPatterns, score_intents
from bot.core.model import Attachment, Intent
from bot.core.yamldoc import parse_yaml
from bot.errors import RuleError
from bot.paths import DEFAULT_RULES_DIR


@pytest.fixture(scope="module")
def patterns() -> IntentPatterns:
    path = DEFAULT_RULES_DIR / "intents.yaml"
    return IntentPatterns.from_doc(parse_yaml(path.read_text(encoding="utf-8"), str(path)))


CASES = [
    # paid
    ("en", "We have paid the balance this morning, please find the bank slip attached.", "paid"),
    ("en", "Payment done today. TT copy attached, pls check.", "paid"),
    ("zh", "我们已经付款了，请查收水单。", "paid"),
    ("zh", "今天已经把尾款付了，水单附件。", "paid"),
    ("zht", "我們已經匯款了，請查收。", "paid"),
    ("de", "Die Überweisung ist seit gestern raus.", "paid"),
    ("es", "Hoy hemos realizado la transferencia del saldo. Adjunto el comprobante.", "paid"),
    ("fr", "Nous avons effectué le virement ce matin, ci-joint l'avis de virement.", "paid"),
    ("it", "Abbiamo effettuato il bonifico oggi, in allegato la contabile.", "paid"),
    ("pt", "O pagamento foi efetuado hoje, segue o comprovativo.", "paid"),
    ("ru", "Мы оплатили счёт вчера, платёжка во вложении.", "paid"),
    ("ja", "本日お支払いしました。振込明細を添付します。", "paid"),
    ("ar", "تم التحويل اليوم، مرفق إيصال الحوالة.", "paid"),
    ("tr", "Ödemeyi yaptık, dekont ektedir.", "paid"),
    # promise
    ("en", "We will pay next Friday, sorry for the delay.", "promise"),
    ("en", "The transfer is scheduled for Friday 17/10.", "promise"),
    ("zh", "我们下周五付款。", "promise"),
    ("de", "Wir werden die Rechnung bis Ende des Monats überweisen.", "promise"),
    ("es", "Pagaremos la próxima semana.", "promise"),
    ("fr", "Nous allons payer la semaine prochaine.", "promise"),
    ("it", "Il bonifico sarà effettuato il 20 marzo.", "promise"),
    ("pt", "Vamos pagar na próxima semana.", "promise"),
    ("ru", "Мы оплатим в понедельник.", "promise"),
    ("ja", "来週の金曜日に送金いたします。", "promise"),
    ("ar", "سوف ندفع الأسبوع القادم.", "promise"),
    ("tr", "Ödemeyi gelecek hafta yapacağız.", "promise"),
    # reasons
    (
        "en",
        "Our customer hasn't paid us yet, we are waiting for their money.",
        "waiting_on_customer",
    ),
    ("zh", "客户那边还没付款，等客户回款了就付给你们。", "waiting_on_customer"),
    ("de", "Wir warten noch auf das Geld von unserem Kunden.", "waiting_on_customer"),
    ("es", "Seguimos esperando que nos pague nuestro cliente.", "waiting_on_customer"),
    ("en", "Cash flow is very tight this month, can we pay in two installments?", "cash_flow"),
    ("zh", "最近资金紧张，能不能分两次付款？", "cash_flow"),
    ("fr", "Nous avons des difficultés de trésorerie ce mois-ci.", "cash_flow"),
    (
        "en",
        "The exchange rate is terrible right now, we wait for the dollar to drop.",
        "exchange_rate",
    ),
    ("zh", "最近汇率波动太大，我们想等汇率好一点再付。", "exchange_rate"),
    ("de", "Der Wechselkurs ist gerade sehr ungünstig.", "exchange_rate"),
    ("en", "We found another supplier with a much cheaper price.", "competitor"),
    ("zh", "别家的价格比你们便宜10%。", "competitor"),
    ("es", "Encontramos otro proveedor más barato.", "competitor"),
    (
        "en",
        "Our boss is on vacation until next week, he will approve the payment when he is back.",
        "absent",
    ),
    ("zh", "老板出差了，下周回来。", "absent"),
    ("de", "Unser Geschäftsführer ist im Urlaub.", "absent"),
    (
        "en",
        "We'd like to change the colour and increase the quantity to 800 pcs.",
        "change_request",
    ),
    ("zh", "我们想把颜色改成灰色，数量增加到500个。", "change_request"),
    ("es", "Queremos cambiar el diseño del embalaje.", "change_request"),
    ("en", "The previous shipment is selling slowly, we still have a lot of stock.", "poor_sales"),
    ("zh", "上一批货卖得很慢，库存还很多。", "poor_sales"),
    ("it", "Le vendite sono ferme e il magazzino è pieno.", "poor_sales"),
    ("en", "20 cartons arrived damaged and the invoice amount is wrong.", "dispute"),
    ("zh", "这批货质量有问题，很多破损。", "dispute"),
    ("de", "Die Ware ist beschädigt angekommen.", "dispute"),
    ("ru", "Товар пришёл с браком, у нас претензия.", "dispute"),
    ("en", "Can you send the bank details again?", "question"),
    ("zh", "请把你们的银行信息再发一下。", "question"),
    ("es", "¿Me puede enviar los datos bancarios?", "question"),
    ("en", "We have decided to cancel the order.", "cancel"),
    ("zh", "这单我们不要了，取消吧。", "cancel"),
    ("fr", "Nous souhaitons annuler la commande.", "cancel"),
    ("ja", "注文をキャンセルしたいです。", "cancel"),
    ("en", "Thanks, noted.", "other"),
    ("zh", "好的，收到。", "other"),
]


@pytest.mark.parametrize(("lang", "text", "want"), CASES)
def test_intent_per_language(patterns: IntentPatterns, lang: str, text: str, want: str) -> None:
    assert score_intents(text, patterns).intent == Intent(want), lang


@pytest.mark.parametrize(
    "text",
    [
        "We have NOT paid yet because the invoice is still in approval.",
        "We haven't paid yet.",
        "Wir haben noch nicht bezahlt.",
        "还没付，财务在审批。",
        "我们还没有付款。",
        "Todavía no hemos pagado.",
        "Nous n'avons pas encore payé.",
        "Non abbiamo ancora pagato.",
        "Ainda não pagamos.",
        "Мы ещё не оплатили.",
        "We will pay next week.",
    ],
)
def test_negated_or_future_payment_is_not_paid(patterns: IntentPatterns, text: str) -> None:
    assert score_intents(text, patterns).intent != Intent.PAID


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("We will pay next Friday.", "promise"),
        ("Paid yesterday, slip attached.", "paid"),
        ("Can you send the bank details?", "question"),
        ("The goods arrived damaged. We will pay once you replace them.", "dispute"),
        ("We will not pay the balance until the quality issue is resolved.", "dispute"),
        ("Our customer has not paid us; once they pay we will pay you.", "waiting_on_customer"),
        ("No quality problem, we have paid the balance today.", "paid"),
    ],
)
def test_precedence(patterns: IntentPatterns, text: str, want: str) -> None:
    assert score_intents(text, patterns).intent == Intent(want)


def test_after_but_a_dated_promise_beats_the_excuse(patterns: IntentPatterns) -> None:
    text = "Cash is a bit tight, but the transfer will go out on Friday."
    assert score_intents(text, patterns, dated=True).intent == Intent.PROMISE
    assert score_intents("Cash is a bit tight.", patterns, dated=True).intent == Intent.CASH_FLOW


def test_dated_text_strengthens_a_promise(patterns: IntentPatterns) -> None:
    text = "Balance on the 15th, thanks."
    assert score_intents(text, patterns).intent != Intent.PROMISE
    assert score_intents(text, patterns, dated=True).intent == Intent.PROMISE


@pytest.mark.parametrize("name", ["bank_slip.jpg", "水单.png", "TT copy.pdf", "Zahlungsbeleg.pdf"])
def test_slip_attachment_with_little_text_is_paid(patterns: IntentPatterns, name: str) -> None:
    kind = "application/pdf" if name.endswith(".pdf") else "image/jpeg"
    result = score_intents("Hi Lily, see attached.", patterns, (Attachment(name, kind, 50_000),))
    assert result.intent == Intent.PAID
    assert dict(result.scores)["paid"] >= 5


def test_unrelated_attachment_is_not_paid(patterns: IntentPatterns) -> None:
    text = "Please find attached our new catalogue for the coming season and the price list."
    result = score_intents(text, patterns, (Attachment("catalogue.pdf", "application/pdf", 1),))
    assert result.intent != Intent.PAID


def test_scores_list_best_first(patterns: IntentPatterns) -> None:
    result = score_intents("The goods are damaged. We will pay next week.", patterns)
    names = [name for name, _ in result.scores]
    assert names[0] == "dispute" and "promise" in names


def test_bad_regex_names_file_and_line() -> None:
    text = "intents:\n  paid:\n    patterns:\n      en:\n        - 'ok'\n        - '(unclosed'\n"
    with pytest.raises(RuleError) as err:
        IntentPatterns.from_doc(parse_yaml(text, "rules/intents.yaml"))
    assert err.value.path == "rules/intents.yaml" and err.value.line == 6
    assert "regular expression" in str(err.value)


def test_unknown_intent_is_a_rule_error() -> None:
    text = "threshold: 1\nintents:\n  excuses:\n    patterns: {en: ['x']}\n"
    with pytest.raises(RuleError) as err:
        IntentPatterns.from_doc(parse_yaml(text, "intents.yaml"))
    assert err.value.line == 3 and "unknown intent" in str(err.value)


def test_custom_weights_and_threshold() -> None:
    text = (
        "threshold: 2\n"
        "intents:\n"
        "  paid:\n    weight: 1\n    patterns: {en: ['\\bpaid\\b']}\n"
        "  cancel:\n    patterns: {en: [{pattern: 'cancel', weight: 5}]}\n"
    )
    patterns = IntentPatterns.from_doc(parse_yaml(text, "intents.yaml"))
    assert score_intents("we paid", patterns).intent == Intent.OTHER  # 1 < threshold 2
    assert score_intents("we paid, now cancel", patterns).intent == Intent.CANCEL
