"""MIME parsing: inline RFC 822 messages with the charsets and breakage real customers send."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.mime import decode_bytes, html_to_text, parse_message
from bot.core.model import ParsedMessage
from bot.errors import MessageParseError

HEAD = (
    b"From: Buyer <buyer@acme.example>\r\n"
    b"To: alice@supplier.example\r\n"
    b"Message-ID: <m1@acme.example>\r\n"
    b"Date: Mon, 4 Mar 2024 10:00:00 +0100\r\n"
)


def msg(headers: bytes, body: bytes = b"Hello\r\n") -> ParsedMessage:
    return parse_message(HEAD + headers + b"\r\n" + body)


def text_part(charset: str, cte: str, body: bytes, subject: bytes = b"Payment") -> ParsedMessage:
    headers = (
        b"Subject: " + subject + b"\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: " + cte.encode() + b"\r\n"
    )
    return msg(headers, body)


# --- RFC 2047 encoded words in headers --------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        (b"=?gbk?B?udjT2raptaW4tr/u?=", "关于订单付款"),
        (b"=?GB2312?B?udjT2raptaW4tr/u?=", "关于订单付款"),
        (b"=?big5?B?pUm02rNxqr4=?=", "付款通知"),
        (b"=?iso-2022-jp?B?GyRCJCo7WUonJCQkSyREJCQkRhsoQg==?=", "お支払いについて"),
        (b"=?UTF-8?B?5oiR5Lus5LiL5ZGo5LuY5qy+?=", "我们下周付款"),
        (b"=?utf-8?Q?Zahlung_f=C3=BCr_Bestellung?=", "Zahlung für Bestellung"),
        (b"=?ISO-8859-1?Q?Re:_Bon_de_commande_r=E9gl=E9?=", "Re: Bon de commande réglé"),
        (b"Re: =?utf-8?Q?Pedido_n=C2=BA?= 4711", "Re: Pedido nº 4711"),
        (b"=?utf-8?B?5LuY?=\r\n =?utf-8?B?5qy+?=", "付款"),  # folded, adjacent words join
    ],
)
def test_encoded_subject(encoded: bytes, decoded: str) -> None:
    assert msg(b"Subject: " + encoded + b"\r\n").subject == decoded


def test_encoded_from_name_and_lowercased_address() -> None:
    raw = (
        b"From: =?gb2312?B?wO7D9w==?= <Li.Ming@Example.CN>\r\n"
        b"To: =?utf-8?Q?J=C3=BCrgen?= <j@x.example>, b@y.example\r\n"
        b"Subject: hi\r\n\r\nbody\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.sender.email == "li.ming@example.cn"
    assert parsed.sender.name == "李明"
    assert [a.email for a in parsed.to] == ["j@x.example", "b@y.example"]
    assert parsed.to[0].name == "Jürgen"


def test_unknown_charset_in_encoded_word_does_not_crash() -> None:
    parsed = msg(b"Subject: =?x-klingon?B?SGVsbG8=?= world\r\n")
    assert "world" in parsed.subject


def test_raw_utf8_header_without_encoding() -> None:
    parsed = msg("Subject: 付款 Zahlung für 4711\r\n".encode())
    assert parsed.subject == "付款 Zahlung für 4711"


def test_raw_gbk_header_without_encoding_is_readable() -> None:
    parsed = msg(b"Subject: " + "关于订单付款的问题".encode("gbk") + b"\r\n")
    assert parsed.subject == "关于订单付款的问题"


# --- bodies in many charsets ------------------------------------------------------------------


def test_gbk_body() -> None:
    body = "我们下周付款，谢谢！".encode("gbk")
    assert text_part("gbk", "8bit", body).text == "我们下周付款，谢谢！"


def test_gb2312_declared_but_gbk() -> None:
    body = "朱镕基先生，订单4711已付款。".encode("gbk")  # 镕 is not in GB2312
    assert text_part("gb2312", "8bit", body).text == "朱镕基先生，订单4711已付款。"


def test_gb2312_base64_body() -> None:
    body = base64.b64encode("请查收水单。".encode("gb2312")) + b"\r\n"
    assert text_part('"GB2312"', "base64", body).text == "请查收水单。"


def test_big5_body() -> None:
    body = "請於月底付款".encode("big5")
    assert text_part("big5", "8bit", body).text == "請於月底付款"


def test_iso_2022_jp_body() -> None:
    body = "来週お支払いします".encode("iso-2022-jp")
    assert text_part("iso-2022-jp", "7bit", body).text == "来週お支払いします"


def test_shift_jis_declared_with_cp932_chars() -> None:
    body = "①番の注文".encode("cp932")
    assert text_part("shift_jis", "8bit", body).text == "①番の注文"


def test_latin1_quoted_printable() -> None:
    body = b"Sehr geehrter Herr M=FCller,=0D\r\nwir zahlen n=E4chste Woche =80 1.000.\r\n"
    text = text_part("iso-8859-1", "quoted-printable", body).text
    assert "Herr Müller" in text
    assert "nächste Woche € 1.000" in text  # 0x80 is the euro sign: iso-8859-1 read as cp1252


def test_base64_utf8() -> None:
    body = b"WmFobHVuZyBmw7xyIEJlc3RlbGx1bmcgNDcxMSDigJQgZGFua2U=\r\n"
    assert text_part("utf-8", "base64", body).text == "Zahlung für Bestellung 4711 — danke"


def test_koi8r_body() -> None:
    body = "Оплатим заказ на следующей неделе".encode("koi8-r")
    assert text_part("koi8-r", "8bit", body).text == "Оплатим заказ на следующей неделе"


def test_wrong_declaration_utf8_labelled_latin1() -> None:
    body = "Müller zahlt am Freitag. 我们下周付款".encode()
    assert text_part("iso-8859-1", "8bit", body).text == "Müller zahlt am Freitag. 我们下周付款"


def test_wrong_declaration_gbk_labelled_utf8() -> None:
    body = "我们已经安排付款了，请查收水单，谢谢您的耐心等待。".encode("gbk")
    assert (
        text_part("utf-8", "8bit", body).text
        == "我们已经安排付款了，请查收水单，谢谢您的耐心等待。"
    )


def test_unknown_charset_utf8_content() -> None:
    body = "Paiement prévu vendredi".encode()
    assert text_part("x-unknown-charset", "8bit", body).text == "Paiement prévu vendredi"


def test_unknown_charset_gbk_content_is_guessed() -> None:
    body = "我们已经安排付款了，请查收水单，谢谢您的耐心等待。".encode("gbk")
    assert (
        text_part("x-bogus", "8bit", body).text
        == "我们已经安排付款了，请查收水单，谢谢您的耐心等待。"
    )


def test_no_content_type_8bit_utf8() -> None:
    parsed = msg(b"Subject: x\r\n", "Grüße".encode())
    assert parsed.text == "Grüße"
    assert parsed.content_type == "text/plain"


def test_bad_transfer_encoding_does_not_crash() -> None:
    parsed = text_part("utf-8", "base64", b"!!!not base64 at all###\r\n")
    assert isinstance(parsed.text, str)


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        ("关于订单付款的问题", "gbk"),
        ("付款", "gbk"),
        ("您好，货款已付。", "gbk"),
        ("請於月底付款", "big5"),
        ("お支払い、ありがとうございます。", "cp932"),
        ("Привет мир, оплата завтра", "cp1251"),
        ("Оплатим заказ", "koi8-r"),
        ("Müller zahlt am Freitag", "latin-1"),
        ("Ärger", "latin-1"),
        ("GRÜSSE", "latin-1"),
        ("Zażółć gęślą jaźń", "cp1250"),
        ("订单PO4711已付款", "gbk"),
    ],
)
def test_undeclared_charset_is_guessed(text: str, charset: str) -> None:
    assert decode_bytes(text.encode(charset), None) == text


def test_iso_2022_jp_with_microsoft_extensions() -> None:
    # NEC row 13 (circled digits) is not in Python's iso2022_jp; CP50220 mail uses it.
    assert decode_bytes(b'\x1b$B-!-"$NCmJ8\x1b(B', "ISO-2022-JP") == "①②の注文"


def test_utf8_with_one_broken_byte_beats_a_wrong_label() -> None:
    data = "Юникод запрещен".encode()[:-1]
    assert decode_bytes(data, "windows-1251").startswith("Юникод запреще")


@pytest.mark.parametrize("actual", ["euc_jp", "cp932", "utf-8"])
def test_iso_2022_jp_label_on_8bit_japanese(actual: str) -> None:
    text = "送信先メールアドレスが見つかりませんでした。"
    assert decode_bytes(text.encode(actual), "iso-2022-jp") == text


def test_iso_8859_i_suffix() -> None:
    assert decode_bytes("שלום".encode("iso8859_8"), "iso-8859-8-i") == "שלום"


def test_decode_bytes_never_raises() -> None:
    assert decode_bytes(b"caf\xe9", "us-ascii") == "café"
    assert decode_bytes(b"plain", None) == "plain"
    assert decode_bytes(b"\xff\xfe\x00", "no-such-charset") != ""


# --- structure --------------------------------------------------------------------------------


HTML_ONLY = b"""Subject: html
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><p>We will pay on <b>Friday</b>.</p>
<div>Regards,<br>Bob</div>
<blockquote type="cite"><p>Please pay PO 4711.</p></blockquote>
</body></html>
"""


def test_html_only_gives_readable_text_with_quote_marks() -> None:
    parsed = parse_message(HEAD + HTML_ONLY)
    assert "We will pay on Friday." in parsed.text
    assert "<" not in parsed.text
    assert "> Please pay PO 4711." in parsed.text
    assert parsed.html is not None and "<blockquote" in parsed.html


def test_html_to_text_survives_garbage() -> None:
    assert "text" in html_to_text("<p>text<b><<<</table></div>")
    assert html_to_text("") == ""


ALTERNATIVE = b"""Subject: alt
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Plain version
--b1
Content-Type: text/html; charset=utf-8

<p>HTML version</p>
--b1--
"""


def test_multipart_alternative_prefers_plain_and_keeps_html() -> None:
    parsed = parse_message(HEAD + ALTERNATIVE)
    assert parsed.text == "Plain version"
    assert parsed.html is not None and "HTML version" in parsed.html
    assert parsed.content_type == "multipart/alternative"
    assert [ctype for ctype, _ in parsed.parts] == ["text/plain", "text/html"]
    assert parsed.attachments == ()


ATTACHMENTS = b"""Subject: slip
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mix"

--mix
Content-Type: text/plain; charset=utf-8

Please find the bank slip attached.
--mix
Content-Type: application/pdf; name="slip.pdf"
Content-Disposition: attachment; filename="slip.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IK
--mix
Content-Type: image/jpeg
Content-Disposition: attachment; filename*=UTF-8''%E6%B0%B4%E5%8D%95.jpg
Content-Transfer-Encoding: base64

/9j/4AAQSkZJRg==
--mix
Content-Type: text/plain; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"

not the body
--mix--
"""


def test_attachments_are_listed_not_read_as_body() -> None:
    parsed = parse_message(HEAD + ATTACHMENTS)
    assert parsed.text == "Please find the bank slip attached."
    names = [(a.filename, a.content_type) for a in parsed.attachments]
    assert names == [
        ("slip.pdf", "application/pdf"),
        ("水单.jpg", "image/jpeg"),
        ("notes.txt", "text/plain"),
    ]
    assert parsed.attachments[0].size == len(base64.b64decode("JVBERi0xLjQKJcfsj6IK"))


def test_forwarded_message_rfc822_part() -> None:
    raw = HEAD + (
        b"Subject: Fwd: payment\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="f"\r\n\r\n'
        b"--f\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n"
        b"--f\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: boss@acme.example\r\nSubject: inner\r\n\r\nInner text\r\n"
        b"--f--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.text == "See below."
    assert parsed.subject == "Fwd: payment"


BOUNCE = b"""Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="r"

--r
Content-Type: text/plain

The mail could not be delivered.
--r
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: rfc822; gone@acme.example
Action: failed
Status: 5.1.1
--r--
"""


def test_delivery_status_part_is_kept_as_text() -> None:
    parsed = parse_message(HEAD + BOUNCE)
    assert parsed.content_type == "multipart/report"
    status = [text for ctype, text in parsed.parts if ctype == "message/delivery-status"]
    assert status and "Status: 5.1.1" in status[0]


def test_returned_message_ids_are_collected() -> None:
    raw = HEAD + (
        b"Subject: Undelivered\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n"
        b"--r\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: alice@supplier.example\r\nMessage-ID: <ours-1@supplier.example>\r\n\r\nPlease pay\r\n"
        b"--r\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"From: alice@supplier.example\r\nMessage-Id:  <ours-2@supplier.example>\r\n"
        b"--r--\r\n"
    )
    parsed = parse_message(raw)
    assert parsed.attached_ids == ("ours-1@supplier.example", "ours-2@supplier.example")
    assert parsed.text == "Could not deliver."  # not the returned original's text


def test_read_receipt_report_is_a_text_part() -> None:
    raw = HEAD + (
        b"Subject: Read: payment\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=disposition-notification; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n"
        b"--r\r\nContent-Type: message/disposition-notification\r\n\r\n"
        b"Final-Recipient: rfc822; buyer@acme.example\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n"
        b"--r--\r\n"
    )
    parts = dict(parse_message(raw).parts)
    assert "displayed" in parts["message/disposition-notification"]


def test_broken_boundary_still_yields_the_text() -> None:
    raw = HEAD + (
        b"Subject: broken\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="declared"\r\n\r\n'
        b"--other\r\nContent-Type: text/plain\r\n\r\nWe pay tomorrow.\r\n--other--\r\n"
    )
    parsed = parse_message(raw)
    assert "We pay tomorrow." in parsed.text
    assert parsed.defects  # the parser says what it repaired


def test_missing_closing_boundary() -> None:
    raw = HEAD + (
        b'Subject: x\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nStill here\r\n"
    )
    assert parse_message(raw).text == "Still here"


def test_lf_only_line_endings() -> None:
    raw = b"From: a@b.example\nSubject: lf\nMessage-ID: <lf@b.example>\n\nline one\nline two\n"
    parsed = parse_message(raw)
    assert (parsed.subject, parsed.text) == ("lf", "line one\nline two")


# --- identity, dates, threading headers -------------------------------------------------------


NO_ID = b"From: a@b.example\r\nSubject: no id\r\n\r\nbody\r\n"


def test_missing_message_id_is_synthetic_and_stable() -> None:
    first, again = parse_message(NO_ID), parse_message(NO_ID)
    other = parse_message(NO_ID.replace(b"body", b"other body"))
    assert first.message_id == again.message_id
    assert first.message_id != other.message_id
    assert first.message_id.endswith("@dunbot.invalid")


def test_message_id_without_brackets() -> None:
    raw = b"From: a@b.example\r\nMessage-ID: bare-id@b.example\r\n\r\nx\r\n"
    assert parse_message(raw).message_id == "bare-id@b.example"


def test_missing_date_and_bad_date() -> None:
    assert parse_message(NO_ID).date is None
    bad = b"From: a@b.example\r\nDate: not a date at all\r\n\r\nx\r\n"
    assert parse_message(bad).date is None


def test_date_keeps_its_zone_and_naive_dates_become_utc() -> None:
    assert msg(b"Subject: x\r\n").date == datetime(
        2024, 3, 4, 10, tzinfo=timezone(timedelta(hours=1))
    )
    raw = b"From: a@b.example\r\nDate: Mon, 4 Mar 2024 10:00:00 -0000\r\n\r\nx\r\n"
    assert parse_message(raw).date == datetime(2024, 3, 4, 10, tzinfo=UTC)


def test_in_reply_to_and_references() -> None:
    parsed = msg(
        b"Subject: Re: x\r\nIn-Reply-To: <p2@s.example> (comment)\r\n"
        b"References: <p1@s.example>\r\n\t<p2@s.example>\r\n"
    )
    assert parsed.in_reply_to == "p2@s.example"
    assert parsed.references == ("p1@s.example", "p2@s.example")
    assert parsed.header("in-reply-to") is not None


def test_headers_are_kept_in_order() -> None:
    parsed = msg(b"Subject: s\r\nX-Mailer: Foxmail 7\r\nAuto-Submitted: auto-replied\r\n")
    names = [name for name, _ in parsed.headers]
    assert names[:4] == ["From", "To", "Message-ID", "Date"]
    assert parsed.header("AUTO-SUBMITTED") == "auto-replied"


# --- what must be quarantined, and what must not ----------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \r\n\r\n",
        b"Just some text without any header at all.\r\nSecond line.\r\n",
        "我们下周付款，谢谢！".encode(),
        b"\x00\x01\x02\xff\xfe binary junk",
    ],
)
def test_no_headers_is_a_parse_error_with_a_reason(raw: bytes) -> None:
    with pytest.raises(MessageParseError) as info:
        parse_message(raw)
    assert str(info.value)


def test_mime_part_with_only_content_headers_parses() -> None:
    raw = b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\nContent-Type: text/plain\r\n\r\nhi\r\n--a--\r\n'
    parsed = parse_message(raw)
    assert parsed.text == "hi"
    assert parsed.sender.email == ""


def test_received_only_headers_parse() -> None:
    raw = (
        b"Received: from mx.example by mx2.example; Mon, 4 Mar 2024 10:00:00 +0000\r\n\r\nbody\r\n"
    )
    assert parse_message(raw).text == "body"


def test_obsolete_space_before_colon_in_field_names() -> None:
    raw = b"From : a@b.example\r\nSubject : hi there\r\n\r\nBody: x : y\r\n"
    parsed = parse_message(raw)
    assert (parsed.sender.email, parsed.subject, parsed.text) == (
        "a@b.example",
        "hi there",
        "Body: x : y",
    )
