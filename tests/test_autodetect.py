"""detect_kind: RFC 3834 auto-replies, vacation subjects and bodies, RFC 3464 and free-form bounces."""

from __future__ import annotations

import time

import pytest

from bot.core.autodetect import AutoPatterns, KindResult, detect_kind
from bot.core.mime import parse_message
from bot.core.model import Kind
from bot.core.yamldoc import parse_yaml
from bot.errors import RuleError
from bot.paths import DEFAULT_RULES_DIR


@pytest.fixture(scope="module")
def autos() -> AutoPatterns:
    path = DEFAULT_RULES_DIR / "autoreply.yaml"
    return AutoPatterns.from_doc(parse_yaml(path.read_text(encoding="utf-8"), str(path)))


def mail(
    headers: str,
    body: str = "Hello",
    *,
    sender: str = "Bob <bob@customer.test>",
    subject: str = "Re: Invoice 42",
) -> bytes:
    head = f"From: {sender}\nTo: alice@supplier.test\nSubject: {subject}\nDate: Mon, 4 Mar 2024 10:00:00 +0000\nMessage-ID: <m1@customer.test>\n"
    return (head + headers + "\n" + body).encode("utf-8")


def kind_of(raw: bytes, autos: AutoPatterns) -> KindResult:
    return detect_kind(parse_message(raw), autos)


# --- auto-replies by header ----------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Auto-Submitted: auto-generated",
        "Auto-Submitted: auto-replied (vacation)",
        "X-Autoreply: yes",
        "X-Autorespond: Out of office",
        "X-Auto-Reply: true",
        "Precedence: auto_reply",
        "X-Precedence: auto_reply",
        "X-Mailer: Vacation 1.2.7",
        "X-Mailer: Mail::Autoresponder",
        "X-FC-MachineGenerated: true",
        "X-POST-MessageClass: 9; Autoresponder",
    ],
)
def test_auto_reply_headers(autos: AutoPatterns, header: str) -> None:
    result = kind_of(mail(header + "\n", "Thanks for your mail."), autos)
    assert result.kind is Kind.AUTO_REPLY
    assert result.reason


def test_auto_submitted_no_is_human_even_with_an_auto_subject(autos: AutoPatterns) -> None:
    raw = mail("Auto-Submitted: no\n", "We will pay.", subject="Automatic reply: Invoice")
    assert kind_of(raw, autos).kind is Kind.HUMAN


def test_auto_response_suppress_alone_is_human(autos: AutoPatterns) -> None:
    raw = mail("X-Auto-Response-Suppress: All\n", "We will pay on Friday.")
    assert kind_of(raw, autos).kind is Kind.HUMAN


def test_precedence_bulk_without_list_headers_is_machine_mail(autos: AutoPatterns) -> None:
    assert kind_of(mail("Precedence: bulk\n", "Newsletter"), autos).kind is Kind.AUTO_REPLY
    assert kind_of(mail("Precedence: junk\n", "Newsletter"), autos).kind is Kind.AUTO_REPLY


def test_precedence_bulk_through_a_mailing_list_is_human(autos: AutoPatterns) -> None:
    raw = mail("Precedence: bulk\nList-Id: <buyers.customer.test>\n", "We will pay next week.")
    assert kind_of(raw, autos).kind is Kind.HUMAN
    raw = mail("Precedence: list\n", "We will pay next week.")
    assert kind_of(raw, autos).kind is Kind.HUMAN


def test_plain_human_reply(autos: AutoPatterns) -> None:
    result = kind_of(mail("", "Hi Alice, we will transfer the deposit on Friday.\n\nBob"), autos)
    assert result == KindResult(Kind.HUMAN, result.reason, None, None)


# --- auto-replies by subject and body ------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: Invoice 42",
        "Auto-Reply: Invoice 42",
        "Autoreply: Invoice 42",
        "Out of Office: Invoice 42",
        "Out of the office until May 5",
        "Automatische Antwort: Rechnung 42",
        "Abwesenheitsnotiz: Rechnung 42",
        "自动回复: 发票",
        "自動回覆: 發票",
        "Réponse automatique : Facture 42",
        "Respuesta automática: Factura 42",
        "Risposta automatica: Fattura 42",
        "Resposta automática: Fatura 42",
        "Automatisch antwoord: Factuur 42",
        "Automatyczna odpowiedź: Faktura 42",
        "Automatiskt svar: Faktura 42",
        "Автоматический ответ: Счёт 42",
        "自動応答: 請求書",
        "Otomatik yanıt: Fatura 42",
        "RE: Automatic reply: Invoice 42",
        "=?utf-8?b?6Ieq5Yqo5Zue5aSNOiDlj5Hnpag=?=",
    ],
)
def test_auto_reply_subjects(autos: AutoPatterns, subject: str) -> None:
    raw = mail("", "I will answer when I am back.", subject=subject)
    assert kind_of(raw, autos).kind is Kind.AUTO_REPLY


@pytest.mark.parametrize(
    "body",
    [
        "Thank you for your email. I am out of the office until 12 March with limited access to email.",
        "I am currently out of the office and will return on Monday.",
        "I'm on annual leave until 5 May.",
        "Ich bin bis zum 12.03. nicht im Büro. In dringenden Fällen wenden Sie sich an ...",
        "Je suis absent jusqu'au 12 mars.",
        "Estoy fuera de la oficina hasta el lunes.",
        "Sono fuori ufficio fino al 12 marzo.",
        "我休假至3月12日，期间邮件回复可能延迟。",
        "我目前不在办公室，3月12日返回。",
        "This is an automatic reply. Your message has been received.",
    ],
)
def test_out_of_office_bodies(autos: AutoPatterns, body: str) -> None:
    raw = mail("", body, subject="Re: Invoice 42")
    assert kind_of(raw, autos).kind is Kind.AUTO_REPLY


@pytest.mark.parametrize(
    "subject",
    [
        "Absence of documents for order 42",
        "Urlaub: Zahlung nach dem 20.",
        "外出の件",
        "Out-of-stock items",
    ],
)
def test_ordinary_subjects_with_absence_words_are_human(autos: AutoPatterns, subject: str) -> None:
    assert kind_of(mail("", "We will pay next week.", subject=subject), autos).kind is Kind.HUMAN


def test_human_mentioning_the_office_in_past_tense_is_human(autos: AutoPatterns) -> None:
    raw = mail("", "Sorry, I was out of the office last week. We paid today.")
    assert kind_of(raw, autos).kind is Kind.HUMAN


def test_a_person_announcing_leave_with_the_quote_is_human(autos: AutoPatterns) -> None:
    body = (
        "Hallo Herr Weber, ich bin ab morgen im Urlaub bis einschließlich 27.07., danach kümmere ich mich.\n\n"
        "Am 04.07.2025 um 02:43 schrieb Markus Weber <m.weber@example.test>:\n> Bitte zahlen Sie.\n"
    )
    assert kind_of(mail("", body, subject="AW: Zahlungserinnerung"), autos).kind is Kind.HUMAN
    assert (
        kind_of(mail("", body.split("\n\n")[0], subject="AW: Zahlungserinnerung"), autos).kind
        is Kind.AUTO_REPLY
    )


def test_challenge_response_is_an_auto_reply(autos: AutoPatterns) -> None:
    raw = mail(
        "",
        "Hello, I use Boxbe to manage my inbox. Please verify you are human.",
        sender="Bob via Boxbe <notification@boxbe.com>",
        subject="Request to join my Guest List",
    )
    assert kind_of(raw, autos).kind is Kind.AUTO_REPLY


# --- RFC 3464 reports ----------------------------------------------------------------------


def report(
    report_type: str,
    fields: str,
    human: str = "Delivery failed.",
    *,
    subject: str = "Undelivered Mail Returned to Sender",
    sender: str = "MAILER-DAEMON@mx.supplier.test",
) -> bytes:
    body = (
        f"--b\nContent-Type: text/plain\n\n{human}\n"
        f"--b\nContent-Type: message/{report_type}\n\n{fields}\n"
        "--b\nContent-Type: text/rfc822-headers\n\nFrom: alice@supplier.test\nTo: bob@customer.test\nSubject: Invoice 42\n"
        "--b--\n"
    )
    ctype = f'MIME-Version: 1.0\nContent-Type: multipart/report; report-type={report_type}; boundary="b"\n'
    return mail(ctype + "Auto-Submitted: auto-replied\n", body, sender=sender, subject=subject)


DSN_FAILED = (
    "Reporting-MTA: dns; mx.supplier.test\n\n"
    "Final-Recipient: rfc822; bob@mail.customer.test\n"
    "Original-Recipient: rfc822;bob@customer.test\n"
    "Action: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\n"
)


def test_dsn_failure_gives_recipient_and_status(autos: AutoPatterns) -> None:
    result = kind_of(report("delivery-status", DSN_FAILED), autos)
    assert result.kind is Kind.BOUNCE
    assert result.bounce_recipient == "bob@customer.test"  # the address as we sent it
    assert result.bounce_status == "5.1.1"


def test_dsn_bounce_wins_over_auto_submitted(autos: AutoPatterns) -> None:
    assert kind_of(report("delivery-status", DSN_FAILED), autos).kind is Kind.BOUNCE


def test_dsn_final_recipient_only(autos: AutoPatterns) -> None:
    fields = "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822;<Bob@Customer.test>\nAction: failed\nStatus: 5.2.2\n"
    result = kind_of(report("delivery-status", fields), autos)
    assert (result.bounce_recipient, result.bounce_status) == ("bob@customer.test", "5.2.2")


def test_dsn_status_from_diagnostic_code_when_missing(autos: AutoPatterns) -> None:
    fields = "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; bob@customer.test\nAction: failed\nDiagnostic-Code: smtp; 550 5.7.1 rejected\n"
    assert kind_of(report("delivery-status", fields), autos).bounce_status == "5.7.1"


def test_dsn_picks_the_failed_recipient_among_several(autos: AutoPatterns) -> None:
    fields = (
        "Reporting-MTA: dns; mx\n\n"
        "Final-Recipient: rfc822; ok@customer.test\nAction: delivered\nStatus: 2.0.0\n\n"
        "Final-Recipient: rfc822; gone@customer.test\nAction: failed\nStatus: 5.1.1\n"
    )
    result = kind_of(report("delivery-status", fields), autos)
    assert (result.bounce_recipient, result.bounce_status) == ("gone@customer.test", "5.1.1")


def test_dsn_delay_warning_is_a_soft_bounce(autos: AutoPatterns) -> None:
    fields = "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; bob@customer.test\nAction: delayed\nStatus: 4.4.1\nWill-Retry-Until: Tue, 5 Mar 2024\n"
    result = kind_of(
        report("delivery-status", fields, subject="Delayed Mail (still being retried)"), autos
    )
    assert result.kind is Kind.BOUNCE
    assert result.bounce_status == "4.4.1"


def test_dsn_delay_without_status(autos: AutoPatterns) -> None:
    fields = (
        "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; bob@customer.test\nAction: delayed\n"
    )
    assert kind_of(report("delivery-status", fields), autos).bounce_status == "4.0.0"


def test_dsn_success_report_is_not_a_bounce(autos: AutoPatterns) -> None:
    fields = "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; bob@customer.test\nAction: delivered\nStatus: 2.0.0\n"
    result = kind_of(
        report("delivery-status", fields, subject="Delivery Status Notification (Success)"), autos
    )
    assert result.kind is Kind.AUTO_REPLY


def test_read_receipt_is_an_auto_reply(autos: AutoPatterns) -> None:
    fields = "Reporting-UA: pc.customer.test; Foomail\nFinal-Recipient: rfc822;bob@customer.test\nDisposition: manual-action/MDN-sent-manually; displayed\n"
    raw = report(
        "disposition-notification",
        fields,
        "Your message was displayed.",
        subject="Read: Invoice 42",
        sender="bob@customer.test",
    )
    result = kind_of(raw, autos)
    assert result.kind is Kind.AUTO_REPLY
    assert "MDN" in result.reason


def test_feedback_report_is_an_auto_reply(autos: AutoPatterns) -> None:
    fields = "Feedback-Type: abuse\nUser-Agent: SMP-FBL\nVersion: 1\n"
    raw = report(
        "feedback-report",
        fields,
        "This is an abuse report.",
        subject="FW: Invoice",
        sender="fbl@isp.test",
    )
    assert "ARF" in kind_of(raw, autos).reason


# --- free-form bounces ----------------------------------------------------------------------

QMAIL = """Hi. This is the qmail-send program at mx.customer.test.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<bob@customer.test>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

From: alice@supplier.test
To: bob@customer.test
"""

EXIM = """This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  bob@customer.test
    SMTP error from remote mail server after RCPT TO:<bob@customer.test>:
    host mx.customer.test [192.0.2.1]: 550 Requested action not taken: mailbox unavailable

------ This is a copy of the message, including all the headers. ------
To: bob@customer.test
"""

POSTFIX = """This is the mail system at host mx.supplier.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<bob@customer.test>: host mx.customer.test[192.0.2.1] said: 552 5.2.2 Mailbox full
"""

EXCHANGE = """Delivery has failed to these recipients or groups:

bob@customer.test
The e-mail address you entered couldn't be found.
"""

GMAIL = """Delivery to the following recipient failed permanently:

     bob@customer.test

Technical details of permanent failure:
The email account that you tried to reach does not exist.
"""

JAPANESE = """次の宛先へのメール配信に失敗しました。

宛先不明: <bob@customer.jp>
"""

RUSSIAN = """Сообщение не может быть доставлено следующим адресатам:

bob@customer.ru
"""

CHINESE = """很抱歉，您的邮件无法投递到以下地址：

bob@customer.cn
原因：用户不存在
"""


@pytest.mark.parametrize(
    ("sender", "subject", "body", "recipient", "status"),
    [
        ("MAILER-DAEMON@mx.customer.test", "failure notice", QMAIL, "bob@customer.test", "5.1.1"),
        (
            "Mail Delivery System <Mailer-Daemon@mx.supplier.test>",
            "Mail delivery failed: returning message to sender",
            EXIM,
            "bob@customer.test",
            "5.1.1",
        ),
        (
            "MAILER-DAEMON@mx.supplier.test",
            "Undelivered Mail Returned to Sender",
            POSTFIX,
            "bob@customer.test",
            "5.2.2",
        ),
        (
            "postmaster@supplier.test",
            "Undeliverable: Invoice 42",
            EXCHANGE,
            "bob@customer.test",
            "5.0.0",
        ),
        (
            "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
            "Delivery Status Notification (Failure)",
            GMAIL,
            "bob@customer.test",
            "5.1.1",
        ),
        ("postmaster@mail.customer.jp", "メール配信エラー", JAPANESE, "bob@customer.jp", "5.1.1"),
        (
            "MAILER-DAEMON@mail.customer.ru",
            "Недоставленное сообщение",
            RUSSIAN,
            "bob@customer.ru",
            "5.0.0",
        ),
        ("postmaster@mail.customer.cn", "系统退信", CHINESE, "bob@customer.cn", "5.0.0"),
        (
            "Bob <bob-returns@customer.test>",
            "Returned mail: see transcript for details",
            EXCHANGE,
            "bob@customer.test",
            "5.0.0",
        ),
    ],
)
def test_free_form_bounces(
    autos: AutoPatterns, sender: str, subject: str, body: str, recipient: str, status: str
) -> None:
    result = kind_of(mail("", body, sender=sender, subject=subject), autos)
    assert result.kind is Kind.BOUNCE
    assert result.bounce_recipient == recipient
    assert result.bounce_status == status


def test_x_failed_recipients_header(autos: AutoPatterns) -> None:
    raw = mail(
        "X-Failed-Recipients: bob@customer.test\nAuto-Submitted: auto-replied\n",
        EXIM,
        sender="Mailer-Daemon@mx.supplier.test",
        subject="Mail delivery failed",
    )
    result = kind_of(raw, autos)
    assert (result.kind, result.bounce_recipient) == (Kind.BOUNCE, "bob@customer.test")


def test_free_form_delay_warning(autos: AutoPatterns) -> None:
    body = "This message was created automatically by mail delivery software.\nA message that you sent has not yet been delivered to one or more of its\nrecipients after more than 24 hours on the queue.\n\n  bob@customer.test\n\nDelivery attempts will continue."
    result = kind_of(
        mail(
            "",
            body,
            sender="Mailer-Daemon@mx.supplier.test",
            subject="Warning: message 1ABC delayed 24 hours",
        ),
        autos,
    )
    assert result.kind is Kind.BOUNCE
    assert result.bounce_status is not None and result.bounce_status.startswith("4.")
    assert result.bounce_recipient == "bob@customer.test"


def test_postmaster_writing_normally_is_not_a_bounce(autos: AutoPatterns) -> None:
    raw = mail(
        "",
        "Hello, could you resend the invoice as PDF?",
        sender="postmaster@customer.test",
        subject="Invoice 42",
    )
    assert kind_of(raw, autos).kind is Kind.HUMAN


def test_a_complaint_about_undelivered_goods_is_human(autos: AutoPatterns) -> None:
    body = "The goods were not delivered yet, so the balance could not be delivered either. The address does not exist?"
    assert kind_of(mail("", body, subject="Undelivered goods - order 42"), autos).kind is Kind.HUMAN


def test_a_customer_writing_about_a_returned_mail_is_human(autos: AutoPatterns) -> None:
    raw = mail(
        "",
        "Your last mail to our accountant bounced, the address changed. Please use acc@customer.test.",
        subject="Re: Invoice 42",
    )
    assert kind_of(raw, autos).kind is Kind.HUMAN


# --- rules as data ------------------------------------------------------------------------


def test_a_new_vacation_subject_is_data_not_code() -> None:
    doc = parse_yaml("subject_prefixes:\n  - 'fora do ar'\n", "autoreply.yaml")
    patterns = AutoPatterns.from_doc(doc)
    raw = mail("", "Volto dia 12.", subject="Fora do ar: Fatura")
    assert detect_kind(parse_message(raw), patterns).kind is Kind.AUTO_REPLY


def test_a_bad_regex_names_its_line() -> None:
    doc = parse_yaml(
        "max_chars: 100\nbody_phrases:\n  - 'fine'\n  - '[broken'\n", "rules/autoreply.yaml"
    )
    with pytest.raises(RuleError) as caught:
        AutoPatterns.from_doc(doc)
    assert caught.value.line == 4
    assert "body_phrases.1" in str(caught.value)


def test_a_bad_header_rule_names_its_line() -> None:
    doc = parse_yaml("auto_headers:\n  - {header: x-autoreply}\n", "rules/autoreply.yaml")
    with pytest.raises(RuleError) as caught:
        AutoPatterns.from_doc(doc)
    assert caught.value.line == 2


def test_a_bad_status_hint_is_refused() -> None:
    doc = parse_yaml("status_hints:\n  'user unknown': '550'\n", "rules/autoreply.yaml")
    with pytest.raises(RuleError, match="not a status"):
        AutoPatterns.from_doc(doc)


def test_detection_is_fast(autos: AutoPatterns) -> None:
    messages = [
        parse_message(mail("", "We will pay on Friday. " * 200)),
        parse_message(
            mail("", EXIM, sender="mailer-daemon@x.test", subject="Mail delivery failed")
        ),
    ]
    start = time.perf_counter()
    for _ in range(500):
        for msg in messages:
            detect_kind(msg, autos)
    assert time.perf_counter() - start < 2.0  # 1000 messages: about 0.3 s when idle


def test_a_phone_footer_marks_a_person_not_a_responder(autos: AutoPatterns) -> None:
    body = "Bonsoir, je suis en congé à partir de demain, ma collègue reprend le dossier.\n\nEnvoyé de mon iPhone\n"
    assert kind_of(mail("", body, subject="RE : Rappel"), autos).kind is Kind.HUMAN
    assert (
        kind_of(mail("", body.split("\n\n")[0], subject="RE : Rappel"), autos).kind
        is Kind.AUTO_REPLY
    )
    headed = mail("Auto-Submitted: auto-replied\n", body, subject="RE : Rappel")
    assert kind_of(headed, autos).kind is Kind.AUTO_REPLY  # headers still decide first


@pytest.mark.parametrize(
    "body",
    [
        "This mailbox is no longer monitored. Please write to accounts@example.test.",
        "This is an automated message, please do not reply.",
        "Hi, I'm taking some time off and will be back on 28 July.",
    ],
)
def test_unattended_mailbox_notices_are_auto_replies(autos: AutoPatterns, body: str) -> None:
    assert kind_of(mail("", body, subject="Re: Invoice 42"), autos).kind is Kind.AUTO_REPLY


def test_a_message_id_in_a_bounce_is_not_the_recipient(autos: AutoPatterns) -> None:
    body = (
        "This report relates to a message you sent with the following header fields:\n\n"
        "  Message-id: <reminder@supplier.test>\n  Subject: Payment reminder\n\n"
        "Your message cannot be delivered to the following recipients:\n\n"
        "  Recipient address: k.nowak@customer.test\n  Reason: Remote SMTP server has rejected address\n"
    )
    raw = mail(
        "",
        body,
        sender="postmaster@customer.test",
        subject="Delivery Notification: Delivery has failed",
    )
    result = kind_of(raw, autos)
    assert result.kind is Kind.BOUNCE and result.bounce_recipient == "k.nowak@customer.test"
