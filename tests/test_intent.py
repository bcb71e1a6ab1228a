"""Intent patterns (rules/intents.yaml through bot.core.intent): languages, negation, precedence."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.intent import IntentPatterns, score_intents
from bot.core.intent_model import IntentModel
from bot.core.model import Attachment, Intent
from bot.core.yamldoc import parse_yaml
from bot.errors import RuleError
from bot.paths import DEFAULT_RULES_DIR


@pytest.fixture(scope="module")
def shipped() -> IntentPatterns:
    """intents.yaml with the shipped model behind it, as classify uses them."""
    from bot.adapters.rulefiles import read_rules_dir
    from bot.core.understand import UnderstandingRules

    return UnderstandingRules.from_docs(read_rules_dir(DEFAULT_RULES_DIR)).intents


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
    # chat and letter phrasings (heldout7/8 taught these; each worded here anew)
    ("en", "Please share the SWIFT code and IBAN of your bank.", "question"),  # a SWIFT code is no slip
    ("zh", "款已于上周五通过工商银行电汇支付，请核对到账情况。", "paid"),  # 请核对 is no complaint
    ("zh", "尾款打过去了 pls check", "paid"),
    ("es", "ya le transferí ayer", "paid"),
    ("en", "we regret we must withdraw from the rest of the purchase order", "cancel"),
    ("en", "our buyer still not paid us, once they pay we clear yours", "waiting_on_customer"),
    ("fr", "Nous réglerons à réception des fonds de notre client.", "waiting_on_customer"),
    ("zh", "货卖给了下游的项目方，对方工程款还在审批中。", "waiting_on_customer"),
    ("en", "cash very tight this month, can we pay half now", "cash_flow"),
    ("en", "market is very dull, customers not buying this model", "poor_sales"),
    ("pt", "As vendas ficaram abaixo do esperado e ainda temos tudo em estoque.", "poor_sales"),
    ("tr", "Başka bir tedarikçi daha düşük fiyat verdi.", "competitor"),
    ("en", "the cedi crashed again, cant get dollars at any bank", "exchange_rate"),
    ("zh", "现在美元汇率太高，等等再换。", "exchange_rate"),
    ("en", "Could you split the shipment, half by air?", "change_request"),
    ("en", "From now on please write to accounts@example.com rather than to me.", "other"),
    ("zh", "收到，已转给财务部门处理，谢谢！", "other"),  # passed on to finance, not paid
    ("zh", "款已转给你们了，请查收", "paid"),
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


# Phrasings written apart from the pattern file (informal, Chinglish, several languages).
MORE_CASES = [
    ("dear, payment already done, pls check and arrange shipment", "paid"),
    ("we have make the payment yesterday, attached bank receipt", "paid"),
    ("TT done. Copy attached.", "paid"),
    ("Balance paid. Please release the B/L.", "paid"),
    ("Our accounts department has processed the payment today.", "paid"),
    ("I sent the money via Western Union this morning, MTCN 1234567890.", "paid"),
    ("The full amount was credited to your account on 5 March according to our bank.", "paid"),
    ("payment will arrange next week, sorry for late", "promise"),
    ("we will try our best to pay before 20th", "promise"),
    ("Kindly give us until Friday, the funds will be sent then.", "promise"),
    ("Finance will release the payment once the invoice is approved this week.", "promise"),
    ("The money will be with you by Monday.", "promise"),
    ("our client still not pay us, so we can not pay you now", "waiting_on_customer"),
    ("We are just the agent, the end buyer has to pay first.", "waiting_on_customer"),
    ("Still waiting for the LC from our customer's bank.", "waiting_on_customer"),
    ("business is very difficult now, we need more time to collect money", "cash_flow"),
    ("Can we pay 50% now and 50% after 30 days?", "cash_flow"),
    ("We are short of funds this month.", "cash_flow"),
    ("USD rate is too high now in our country, we wait for better rate", "exchange_rate"),
    (
        "Our central bank restricts dollar purchases, we can't get USD at the moment.",
        "exchange_rate",
    ),
    ("Other suppliers offer us 10% lower.", "competitor"),
    ("We can buy the same item from India at a lower cost.", "competitor"),
    ("I am on business trip now, will handle it when I back to office next week.", "absent"),
    ("Our accountant is on sick leave.", "absent"),
    ("Please change the carton marks and add our barcode.", "change_request"),
    ("We need to modify the drawing, new version attached.", "change_request"),
    ("the goods you sent last time still not sold out", "poor_sales"),
    ("Demand has dropped a lot, our shelves are still full of your products.", "poor_sales"),
    ("The goods quality is not same as sample, many customers complain.", "dispute"),
    ("You charged us for 1000 pcs but we only received 950.", "dispute"),
    ("The price on the invoice is higher than we agreed.", "dispute"),
    ("Pls advise your bank info.", "question"),
    ("How much is the balance exactly?", "question"),
    ("Is the price including shipping?", "question"),
    ("We decided not to go ahead with this order.", "cancel"),
    ("Please stop the order, we don't need it any more.", "cancel"),
    ("Noted with thanks.", "other"),
    ("Please see my colleague in copy for this matter.", "other"),
    ("Have a nice weekend!", "other"),
    ("款项昨天已安排支付，请留意查收", "paid"),
    ("周五前安排付款", "promise"),
    ("要等我们客户付款了才能付给你们", "waiting_on_customer"),
    ("最近手头有点紧，能不能宽限几天", "cash_flow"),
    ("我们找到了更便宜的供应商", "competitor"),
    ("市场不景气，货卖不动", "poor_sales"),
    ("货物有破损，需要赔偿", "dispute"),
    ("你们的银行账号是多少？", "question"),
    ("老板说这个单先不做了", "cancel"),
    ("我这几天休假，回来后处理", "absent"),
    ("包装要改一下，用白色的盒子", "change_request"),
    ("Anbei der Überweisungsbeleg, Betrag ist raus.", "paid"),
    ("Wir haben die Rechnung heute beglichen.", "paid"),
    ("Die Anzahlung haben wir gestern geleistet.", "paid"),
    ("Die Zahlung wird nächste Woche angewiesen.", "promise"),
    ("Wir begleichen die Rechnung bis Monatsende.", "promise"),
    ("Sie bekommen das Geld spätestens am Freitag.", "promise"),
    ("Wir bekommen selbst erst Geld, wenn unser Abnehmer zahlt.", "waiting_on_customer"),
    ("Wir sind momentan etwas klamm, können wir in zwei Raten zahlen?", "cash_flow"),
    ("Unsere Bank hat den Kreditrahmen gekürzt.", "cash_flow"),
    ("Der Euro ist gerade schwach gegenüber dem Dollar.", "exchange_rate"),
    ("Ein anderer Lieferant bietet uns dasselbe Produkt günstiger an.", "competitor"),
    ("Frau Müller ist bis 15. März nicht im Haus.", "absent"),
    ("Können wir die Farbe auf Blau ändern?", "change_request"),
    ("Die Ware liegt noch im Lager, der Verkauf läuft schlecht.", "poor_sales"),
    ("Die Lieferung war unvollständig, es fehlen 20 Kartons.", "dispute"),
    ("Die Qualität entspricht nicht dem Muster.", "dispute"),
    ("Wie ist Ihre IBAN?", "question"),
    ("Welcher Betrag ist noch offen?", "question"),
    ("Wir möchten den Auftrag stornieren.", "cancel"),
    ("Vielen Dank für die Info.", "other"),
    ("Ya está hecha la transferencia, te mando el justificante.", "paid"),
    ("Le informo que el pago fue realizado hoy.", "paid"),
    ("Le pagaremos el saldo a finales de mes.", "promise"),
    ("La semana que viene hacemos el pago.", "promise"),
    ("Hasta que no nos pague el cliente final no podemos pagar.", "waiting_on_customer"),
    ("Estamos cortos de liquidez, ¿podemos pagar en dos veces?", "cash_flow"),
    ("Con la devaluación del peso no podemos comprar dólares ahora.", "exchange_rate"),
    ("Un proveedor de la India nos ofrece un precio más bajo.", "competitor"),
    ("El responsable de pagos está de vacaciones hasta el lunes.", "absent"),
    ("Necesitamos cambiar el color de las cajas.", "change_request"),
    ("El producto no se está vendiendo, tenemos mucho stock.", "poor_sales"),
    ("Llegaron piezas rotas y faltan 3 cajas.", "dispute"),
    ("¿Me confirmas el IBAN, por favor?", "question"),
    ("Lamentablemente tenemos que cancelar el pedido.", "cancel"),
    ("Muchas gracias, saludos.", "other"),
    ("Le virement est parti ce matin, je vous joins l'avis.", "paid"),
    ("Nous avons réglé la facture hier.", "paid"),
    ("Nous effectuerons le paiement lundi prochain.", "promise"),
    ("Le solde sera réglé fin du mois.", "promise"),
    ("Nous attendons que notre client nous règle.", "waiting_on_customer"),
    ("Notre trésorerie est tendue, pouvons-nous payer en trois fois ?", "cash_flow"),
    ("Le cours du dollar est trop élevé en ce moment.", "exchange_rate"),
    ("Un autre fournisseur nous propose un prix plus bas.", "competitor"),
    ("Notre comptable est en congé jusqu'au 10 mars.", "absent"),
    ("Nous souhaitons modifier la quantité commandée.", "change_request"),
    ("Les produits se vendent mal, il nous reste beaucoup de stock.", "poor_sales"),
    ("Plusieurs cartons sont arrivés abîmés.", "dispute"),
    ("Pouvez-vous nous envoyer votre RIB ?", "question"),
    ("Nous devons annuler notre commande.", "cancel"),
    ("Merci pour votre message.", "other"),
    ('Abbiamo già saldato la fattura."),("paid","Il pagamento è stato effettuato ieri.', "paid"),
    ('Pagheremo la settimana prossima."),("promise","Effettueremo il bonifico domani.', "promise"),
    ("Il nostro cliente non ci ha ancora pagato.", "waiting_on_customer"),
    ("Abbiamo problemi di liquidità in questo periodo.", "cash_flow"),
    ("Il tasso di cambio è sfavorevole.", "exchange_rate"),
    ("Abbiamo ricevuto un'offerta migliore da un altro fornitore.", "competitor"),
    ("Il titolare è in ferie fino a lunedì.", "absent"),
    ("Vorremmo modificare la quantità dell'ordine.", "change_request"),
    ("Le vendite vanno male, abbiamo ancora molto stock.", "poor_sales"),
    ("La merce è arrivata danneggiata.", "dispute"),
    ("Potete inviarci le coordinate bancarie?", "question"),
    ("Vogliamo annullare l'ordine.", "cancel"),
    ('Pagamos a fatura ontem."),("paid","A transferência já foi feita.', "paid"),
    ('Vamos pagar na sexta-feira."),("promise","Faremos o depósito amanhã.', "promise"),
    ("Nosso cliente ainda não pagou.", "waiting_on_customer"),
    ("Estamos com problemas de fluxo de caixa.", "cash_flow"),
    ("O câmbio está muito alto agora.", "exchange_rate"),
    ("Encontramos um fornecedor mais barato.", "competitor"),
    ("O diretor está de férias.", "absent"),
    ("Queremos alterar a cor do produto.", "change_request"),
    ("As vendas estão fracas.", "poor_sales"),
    ("Os produtos chegaram danificados.", "dispute"),
    ("Podem enviar os dados bancários?", "question"),
    ("Queremos cancelar o pedido.", "cancel"),
    ('Мы уже оплатили счёт."),("paid","Платёж отправлен сегодня.', "paid"),
    ('Оплатим на следующей неделе."),("promise","Переведём деньги завтра.', "promise"),
    ("Ждём оплату от нашего клиента.", "waiting_on_customer"),
    ("У нас сейчас финансовые трудности.", "cash_flow"),
    ("Курс доллара сейчас слишком высокий.", "exchange_rate"),
    ("Другой поставщик предлагает дешевле.", "competitor"),
    ("Директор в отпуске до понедельника.", "absent"),
    ("Хотим изменить количество в заказе.", "change_request"),
    ("Продажи идут очень плохо.", "poor_sales"),
    ("Товар пришёл повреждённым.", "dispute"),
    ("Пришлите, пожалуйста, банковские реквизиты.", "question"),
    ("Мы хотим отменить заказ.", "cancel"),
    ('本日、代金を振り込みました。"),("paid","支払いは完了しました。', "paid"),
    ('来週お支払いします。"),("promise","明日送金する予定です。', "promise"),
    ("お客様からの入金を待っています。", "waiting_on_customer"),
    ("資金繰りが厳しい状況です。", "cash_flow"),
    ("円安のため支払いを待ちたいです。", "exchange_rate"),
    ("他社の方が安いです。", "competitor"),
    ("社長は出張中です。", "absent"),
    ("数量を変更したいです。", "change_request"),
    ("売れ行きが悪いです。", "poor_sales"),
    ("商品が破損していました。", "dispute"),
    ("振込先を教えてください。", "question"),
    ("注文をキャンセルします。", "cancel"),
    ('لقد دفعنا المبلغ أمس."),("paid","تم التحويل اليوم.', "paid"),
    ("سندفع الأسبوع القادم.", "promise"),
    ("ننتظر الدفع من عميلنا.", "waiting_on_customer"),
    ("نواجه صعوبات مالية حاليا.", "cash_flow"),
    ("سعر الصرف مرتفع جدا.", "exchange_rate"),
    ("وجدنا مورد آخر بسعر أرخص.", "competitor"),
    ("المدير في إجازة.", "absent"),
    ("البضاعة وصلت تالفة.", "dispute"),
    ("هل يمكنكم إرسال تفاصيل البنك؟", "question"),
    ("نريد إلغاء الطلب.", "cancel"),
    ('Ödemeyi dün yaptık."),("paid","Havale yapıldı, dekont ekte.', "paid"),
    ("Yarın ödeyeceğiz.", "promise"),
    ("Müşterimizden ödeme bekliyoruz.", "waiting_on_customer"),
    ("Şu anda nakit sıkıntısı yaşıyoruz.", "cash_flow"),
    ("Döviz kuru çok yüksek.", "exchange_rate"),
    ("Başka bir tedarikçi daha ucuz fiyat verdi.", "competitor"),
    ("Müdürümüz tatilde.", "absent"),
    ("Sipariş miktarını değiştirmek istiyoruz.", "change_request"),
    ("Satışlar çok yavaş.", "poor_sales"),
    ("Ürünler hasarlı geldi.", "dispute"),
    ("Banka bilgilerinizi gönderebilir misiniz?", "question"),
    ("Siparişi iptal etmek istiyoruz.", "cancel"),
    ('我哋已經俾咗錢。"),("promise","下星期會安排付款。', "paid"),
    ("老闆去咗旅行，下禮拜返嚟。", "absent"),
    ('Merci beaucoup."),("other","Grazie mille, a presto."),("other","Спасибо!', "other"),
    ("We had paid the deposit already on 3 March.", "paid"),
    ("We haven't paid yet.", "other"),
    ("Abbiamo già saldato la fattura.", "paid"),
    ("Pagheremo la settimana prossima.", "promise"),
    ("Pagamos a fatura ontem.", "paid"),
    ("Vamos pagar na sexta-feira.", "promise"),
    ("Мы уже оплатили счёт.", "paid"),
    ("Оплатим на следующей неделе.", "promise"),
    ("本日、代金を振り込みました。", "paid"),
    ("来週お支払いします。", "promise"),
    ("لقد دفعنا المبلغ أمس.", "paid"),
    ("Ödemeyi dün yaptık.", "paid"),
    ("我哋已經俾咗錢。", "paid"),
    ("Il pagamento è stato effettuato ieri.", "paid"),
    ("Effettueremo il bonifico domani.", "promise"),
    ("A transferência já foi feita.", "paid"),
    ("Faremos o depósito amanhã.", "promise"),
    ("Платёж отправлен сегодня.", "paid"),
    ("Переведём деньги завтра.", "promise"),
    ("支払いは完了しました。", "paid"),
    ("明日送金する予定です。", "promise"),
    ("تم التحويل اليوم.", "paid"),
    ("Havale yapıldı, dekont ekte.", "paid"),
    ("下星期會安排付款。", "promise"),
]


@pytest.mark.parametrize(("text", "want"), MORE_CASES)
def test_more_phrasings(patterns: IntentPatterns, text: str, want: str) -> None:
    assert score_intents(text, patterns).intent == Intent(want)


# Phrasings found missing by the held-out batches (tests/data/labeled/src/heldout*.yaml): each
# pattern they led to is written to catch other people's wording too, so these use new words.
GENERALIZED = [
    ("we have payed the ballance, plz confirm", "paid"),
    ("The wire for the remaining amount went through this morning.", "paid"),
    ("尾數琴日已經入咗數，麻煩查收。", "paid"),
    ("Ya giramos el anticipo ayer.", "paid"),
    ("We'll get the money over to you by Thursday.", "promise"),
    ("Your invoice is booked for next week's payment run.", "promise"),
    ("Der Betrag geht morgen raus, versprochen.", "promise"),
    (
        "The main contractor still owes us, until they pay us we can't pay you.",
        "waiting_on_customer",
    ),
    ("Unser Bauträger hat die Rechnung noch nicht beglichen.", "waiting_on_customer"),
    ("Money's a bit tight right now, can you give us a couple more weeks?", "cash_flow"),
    ("Things are tough financially, half now and the rest in August?", "cash_flow"),
    ("A supplier from Thailand is offering us the same at a price much lower.", "competitor"),
    ("Un proveedor de Turquía nos ofrece un precio bastante más bajo.", "competitor"),
    ("Un fornitore indiano ci ha fatto un'offerta più conveniente.", "competitor"),
    ("另外一家厂报的价比你们低很多。", "competitor"),
    ("Please swap the 300 chrome units for brass and send a revised PI.", "change_request"),
    ("Pouvez-vous remplacer le bleu par du vert ?", "change_request"),
    ("出货时间能不能往后推一周？", "change_request"),
    ("Sales have been awful, we've barely shifted half of it.", "poor_sales"),
    ("Die Ware verkauft sich kaum, das Lager ist noch voll.", "poor_sales"),
    ("La mercancía no se está moviendo nada.", "poor_sales"),
    ("今年市道好差，啲貨賣唔出。", "poor_sales"),
    ("Please amend the B/L, customs won't clear the goods.", "dispute"),
    ("Half the units came with dents, we need replacements.", "dispute"),
    ("颜色跟样品差别很大，客户拒收了。", "dispute"),
    ("We are pulling out of this order, sorry.", "cancel"),
    ("Мы вынуждены отказаться от поставки.", "cancel"),
    ("I'm on Umrah, will arrange the payment upon my return.", "absent"),
    ("Unser Chef ist erst nächste Woche wieder im Büro.", "absent"),
    ("잔금은 다음 주에 송금할 예정입니다.", "promise"),
    ("오늘 송금 완료했습니다.", "paid"),
    ("Onze klant heeft nog niet betaald.", "waiting_on_customer"),
    ("Niestety musimy anulować zamówienie.", "cancel"),
    ("Kurs rupiah sedang melemah, kami menunggu.", "exchange_rate"),
]


@pytest.mark.parametrize(("text", "want"), GENERALIZED)
def test_generalized_phrasings(patterns: IntentPatterns, text: str, want: str) -> None:
    assert score_intents(text, patterns).intent == Intent(want)


def test_a_relative_which_is_no_question(patterns: IntentPatterns) -> None:
    text = "Our records were lost, which is why the payment slipped. It is in the run for Friday."
    assert score_intents(text, patterns).intent == Intent.PROMISE


def test_same_quality_is_no_complaint(patterns: IntentPatterns) -> None:
    assert score_intents("另一家工厂便宜8%，质量也差不多。", patterns).intent == Intent.COMPETITOR


# --- the statistical second opinion (rules/intent_model.yaml) ---------------------------------

TINY_MODEL = """
ngram: 3
alpha: 0.1
min_posterior: 0.6
min_words: 2
classes:
  paid:
    documents: 2
    counts: '{"zor": 1, "orb": 1, "rbl": 1, "aid": 9, "pai": 9}'
  cash_flow:
    documents: 2
    counts: '{"zor": 9, "orb": 9, "rbl": 9, " zo": 9}'
  other:
    documents: 2
    counts: '{"tha": 9, "han": 9, "ank": 9}'
"""


def _tiny_model() -> IntentModel:
    return IntentModel.from_doc(parse_yaml(TINY_MODEL, "intent_model.yaml"))


def test_the_model_answers_only_when_the_patterns_found_nothing(patterns: IntentPatterns) -> None:
    with_model = replace(patterns, fallback=_tiny_model())
    assert score_intents("we are zorbled", patterns).intent == Intent.OTHER
    found = score_intents("we are zorbled", with_model)
    assert found.intent == Intent.CASH_FLOW and found.scores[-1][0] == "model:cash_flow"
    # a pattern that decides is never overruled
    assert score_intents("We have paid the balance today.", with_model).intent == Intent.PAID
    # the model's own "other", or a guess below min_posterior, leaves "other"
    assert score_intents("thanks", with_model).intent == Intent.OTHER
    assert score_intents("xyz", with_model).intent == Intent.OTHER
    assert score_intents("zorbled", with_model).intent == Intent.OTHER  # too short to go on


def test_a_future_verb_right_after_a_paid_phrase_cancels_it(patterns: IntentPatterns) -> None:
    text = "Le justificatif de virement vous sera transmis vendredi."
    assert score_intents(text, patterns).intent == Intent.OTHER
    assert score_intents(text, patterns, dated=True).intent == Intent.PROMISE
    assert score_intents("Justificatif de virement ci-joint.", patterns).intent == Intent.PAID


def test_temperature_calibrates_and_word_grams_count() -> None:
    words = TINY_MODEL.replace("min_words: 2", "min_words: 2\nwords: 2").replace(
        '" zo": 9}', '" zo": 9, "w:skint": 9}'
    )
    sure = IntentModel.from_doc(parse_yaml(words, "intent_model.yaml"))
    intent, certain = sure.predict("we are skint")
    assert intent == Intent.CASH_FLOW and certain > 0.95
    cool = IntentModel.from_doc(parse_yaml(words + "temperature: 10\n", "intent_model.yaml"))
    intent, posterior = cool.predict("we are skint")
    assert intent == Intent.CASH_FLOW and 0.34 < posterior < certain  # the same answer, less sure


@pytest.mark.parametrize(
    "text",
    [
        "Noted, I have passed this on to our finance colleagues.",
        "Bien reçu, merci. Je transmets au service comptable.",
        "Получили, спасибо, передал в бухгалтерию.",
        "ok dear noted will check with accounts and revert",
        "好的，已收到，我转交给老板确认一下。",
        "Kindly note our stores will remain shut for stock-taking on Saturday.",
        "Our company has opened a new bank account, the accounts team will send the details.",
        "Please register us under the new supplier code from next month, our system is changing.",
        "تم الاستلام مع الشكر، سنبلغ قسم الحسابات.",
        "Recebido, obrigado, vou repassar ao setor de contas a pagar.",
    ],
)
def test_acknowledgements_stay_other_with_the_shipped_model(shipped: IntentPatterns, text: str) -> None:
    assert score_intents(text, shipped).intent == Intent.OTHER


def test_punctuation_is_no_word_for_min_words(patterns: IntentPatterns) -> None:
    model = IntentModel.from_doc(parse_yaml(TINY_MODEL.replace("min_words: 2", "min_words: 3"), "m"))
    with_model = replace(patterns, fallback=model)
    assert score_intents("zorbled -- ~~ !!", with_model).intent == Intent.OTHER
    assert score_intents("zorbled zorbled zorbled", with_model).intent == Intent.CASH_FLOW


def test_a_broken_model_names_its_file() -> None:
    bad = TINY_MODEL.replace('{"tha": 9', '{"tha" 9')
    with pytest.raises(RuleError, match="intent_model.yaml"):
        IntentModel.from_doc(parse_yaml(bad, "intent_model.yaml"))
    with pytest.raises(RuleError, match="intent_model.yaml"):
        IntentModel.from_doc(parse_yaml(TINY_MODEL.replace("paid:", "payed:"), "intent_model.yaml"))


def test_the_shipped_model_loads_with_the_rules() -> None:
    from bot.adapters.rulefiles import read_rules_dir
    from bot.core.understand import UnderstandingRules

    rules = UnderstandingRules.from_docs(read_rules_dir(DEFAULT_RULES_DIR))
    model = rules.intents.fallback
    assert isinstance(model, IntentModel) and len(model.classes) == 13
    assert model.words == 2 and model.temperature > 1  # the settings the README's table chose


# heldout9 (business mail from South Asia, the Gulf, Latin America, Japan, Russia/Ukraine,
# Turkey, South-East Asia): the patterns it led to, each tried here with other words.
HELDOUT9 = [
    ("تم تحويل الدفعة الأخيرة صباح اليوم.", "paid"),
    ("سيتم تحويل المبلغ الأسبوع القادم إن شاء الله.", "promise"),
    ("مرفق إشعار التحويل من البنك.", "paid"),
    ("Оплату остатка сделаем в пятницу.", "promise"),
    ("Платёжка пока на подписи у бухгалтера, перечислим завтра.", "promise"),
    ("SWIFTコードを教えていただけますか。", "question"),
    ("Пришлите, пожалуйста, SWIFT код банка.", "question"),
    ("出荷日を二週間ほど遅らせていただくことは可能でしょうか。", "change_request"),
    ("The rupee depreciated nearly 8% against the US dollar last month.", "exchange_rate"),
    ("Can we lock the exchange rate at the order date and pay part now?", "exchange_rate"),
    ("We found another supplier in Vietnam with a better price.", "competitor"),
    ("我们会尽快转账给你们。", "promise"),
    ("الفلوس طلعت من حسابنا أمس.", "paid"),
    ("رح نحول لكم المبلغ بكرة.", "promise"),
    ("البيع نايم هالموسم والبضاعة ما تمشي.", "poor_sales"),
    ("الغوا الأوردر لو سمحت.", "cancel"),
    ("Estamos com o caixa apertado, precisamos de mais prazo.", "cash_flow"),
    ("We already transfer the balance on Monday, kindly check.", "paid"),
]


@pytest.mark.parametrize(("text", "want"), HELDOUT9)
def test_heldout9_phrasings(patterns: IntentPatterns, text: str, want: str) -> None:
    assert score_intents(text, patterns).intent == Intent(want)


# Second-language English (heldout10): the patterns its misses led to, tried on new wording.
HELDOUT10 = [
    ("The rest amount is already did from our side, please verify.", "paid"),
    ("We have realised the wire for the final payment on Tuesday.", "paid"),
    ("Our accounting did the transfer of the deposit, you can check.", "paid"),
    ("We make the payment two days ago, please control.", "paid"),
    ("Can you prolong the payment deadline of two weeks? The situation is difficult.", "cash_flow"),
    ("Please give us 10 days more, the money is coming.", "cash_flow"),
    ("We want the sofas in brown in place of the grey of the sample.", "change_request"),
    ("The order must be annulled, our project is stopped.", "cancel"),
    ("The container is still not arrive in Mersin and you ask the balance.", "dispute"),
    ("Until now we did not receive the goods, first the goods then the money.", "dispute"),
    ("To which account we must do the payment, the old one or the new?", "question"),
]


@pytest.mark.parametrize(("text", "want"), HELDOUT10)
def test_heldout10_phrasings(patterns: IntentPatterns, text: str, want: str) -> None:
    assert score_intents(text, patterns).intent == Intent(want)
