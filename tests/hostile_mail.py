"""Hostile messages, built from bytes: the attack list of tests/test_hostile_parsing.py and
bench/hostile.py. Each builder returns one raw message; `CASES` names them all.

Sizes are the attack's, not a sample's: 1000-deep multiparts, a 30 MB attachment, 10,000 parts.
Random content comes from a seeded generator, so every run sees the same bytes.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable

HEAD = (
    b"From: Bob Buyer <bob@buyer.test>\r\n"
    b"To: alice@supplier.test\r\n"
    b"Subject: Re: PO-4711 payment\r\n"
    b"Date: Tue, 03 Mar 2026 10:00:00 +0800\r\n"
    b"Message-ID: <hostile@buyer.test>\r\n"
    b"MIME-Version: 1.0\r\n"
)
TEXT = b"Content-Type: text/plain; charset=utf-8\r\n\r\nWe will pay next Friday.\r\n"


def _rng() -> random.Random:
    return random.Random(4711)


def nested_multipart(depth: int) -> bytes:
    """`depth` multiparts inside each other, each with its own boundary, text at the bottom."""
    out = [HEAD, b'Content-Type: multipart/mixed; boundary="b0"\r\n\r\n']
    for i in range(1, depth):
        out.append(b'--b%d\r\nContent-Type: multipart/mixed; boundary="b%d"\r\n\r\n' % (i - 1, i))
    out.append(b"--b%d\r\n%s--b%d--\r\n" % (depth - 1, TEXT, depth - 1))
    out += [b"--b%d--\r\n" % i for i in range(depth - 2, -1, -1)]
    return b"".join(out)


def same_boundary_nesting(depth: int) -> bytes:
    """Every level reuses one boundary and none is ever closed."""
    level = b'--a\r\nContent-Type: multipart/mixed; boundary="a"\r\n\r\n'
    return HEAD + b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n' + level * depth


def rfc822_chain(depth: int) -> bytes:
    """message/rfc822 inside message/rfc822, `depth` times (an attached-message "loop")."""
    level = b"Content-Type: message/rfc822\r\n\r\nFrom: loop@buyer.test\r\nSubject: Fwd\r\n"
    return HEAD + level * depth + b"\r\nbody\r\n"


def rfc822_self_reference() -> bytes:
    """An attached message that claims the same Message-ID and boundary as its parent."""
    return (
        HEAD + b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\n' + TEXT + b"--x\r\n"
        b"Content-Type: message/rfc822\r\n\r\n"
        + HEAD
        + b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\n'
        + TEXT
        + b"--x--\r\n"
    )


def many_parts(count: int) -> bytes:
    part = b"--z\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
    return (
        HEAD + b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n' + part * count + b"--z--\r\n"
    )


def undeclared_8bit_parts(count: int) -> bytes:
    """Text parts of 3 KB of 8-bit bytes and no charset: each one would be guessed."""
    rng = _rng()
    part = b"--z\r\nContent-Type: text/plain\r\n\r\n%s\r\n"
    parts = b"".join(
        part % bytes(rng.randrange(128, 256) for _ in range(3000)) for _ in range(count)
    )
    return HEAD + b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n' + parts + b"--z--\r\n"


def big_attachment(megabytes: int) -> bytes:
    data = base64.encodebytes(_rng().randbytes(megabytes * 1024 * 1024 * 3 // 4))
    return (
        HEAD
        + b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n--z\r\n'
        + TEXT
        + b'--z\r\nContent-Type: application/pdf; name="slip.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + data + b"\r\n--z--\r\n"
    )


def truncated_mime() -> bytes:
    full = big_attachment(1)
    return full[: len(full) // 2]


def wrong_boundary() -> bytes:
    return HEAD + b'Content-Type: multipart/mixed; boundary="declared"\r\n\r\n--other\r\n' + TEXT


def absent_boundary() -> bytes:
    return HEAD + b"Content-Type: multipart/alternative\r\n\r\n--q\r\n" + TEXT + b"--q--\r\n"


def huge_header_line(size: int) -> bytes:
    return HEAD + b"X-Long: " + b"A" * size + b"\r\n" + TEXT


def huge_subject(size: int) -> bytes:
    return (
        HEAD.replace(b"Subject: Re: PO-4711 payment", b"Subject: " + b"pay " * (size // 4)) + TEXT
    )


def many_headers(count: int) -> bytes:
    return HEAD + b"X-Spam: yes\r\n" * count + TEXT


def nul_bytes() -> bytes:
    return (
        HEAD.replace(b"Subject: Re: PO", b"Subject: Re:\x00 PO")
        + b"X-Nul: \x00\x00\r\n"
        + b"Content-Type: text/plain\r\n\r\nWe\x00 paid\x00"
        + b"\x00" * 100_000
        + b"\r\n"
    )


def bad_encoded_words(count: int) -> bytes:
    words = (
        b"=?bogus-charset?B?!!!?= =?utf-8?Q?=ZZ=?= =?utf-8?B?5LuY?= =?x?q??= "
        b"=?utf-16?B?AAAA?= =?iso-2022-jp?B?GyRC?= =?utf-8*en?Q?a?= "
    )
    subject = b"Subject: " + words * count
    return HEAD.replace(b"Subject: Re: PO-4711 payment", subject) + TEXT


def bogus_charsets() -> bytes:
    parts = b"".join(
        b'--z\r\nContent-Type: text/plain; charset="%s"\r\n\r\n\xd6\xa7\xb8\xb6 \xff\xfe paid\r\n'
        % cs
        for cs in (
            b"x-unknown",
            b"utf-16",
            b"utf-32",
            b"iso-2022-kr",
            b"../../etc",
            b"\xff",
            b"",
            b"idna",
        )
    )
    return HEAD + b'Content-Type: multipart/mixed; boundary="z"\r\n\r\n' + parts + b"--z--\r\n"


def base64_garbage(megabytes: int) -> bytes:
    return (
        HEAD
        + b"Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _rng().randbytes(megabytes * 1024 * 1024)
    )


def random_text_body(megabytes: int) -> bytes:
    """Random bytes labelled GB2312: nothing decodes them, so the charset guess runs on all."""
    return (
        HEAD
        + b"Content-Type: text/plain; charset=gb2312\r\n\r\n"
        + _rng().randbytes(megabytes << 20)
    )


def nested_html(megabytes: int) -> bytes:
    return (
        HEAD
        + b"Content-Type: text/html\r\n\r\n"
        + b"<div><blockquote><p>a</p>" * (megabytes * 41943)
    )


def date_flood(count: int) -> bytes:
    """A body that is nothing but payment sentences with dates: the date finder's worst case."""
    return HEAD + b"Content-Type: text/plain\r\n\r\n" + b"pay 5.3. " * count


def huge_references(count: int) -> bytes:
    return (
        HEAD
        + b"References: "
        + b"<a@b> " * count
        + b"\r\nIn-Reply-To: "
        + b"<" * 10_000
        + b"\r\n"
        + TEXT
    )


def huge_message_id(size: int) -> bytes:
    return HEAD.replace(b"<hostile@buyer.test>", b"<" + b"m" * size + b"@buyer.test>") + TEXT


def many_addresses(count: int) -> bytes:
    return HEAD.replace(b"To: alice@supplier.test", b"To: " + b"a@b.test, " * count) + TEXT


def hostile_params() -> bytes:
    return HEAD + (
        b"Content-Type: text/plain; charset*=''%ff%fe; name*0*=utf-8''%E4%BB; name*1=x; "
        b"name*2*=bad%zz\r\nContent-Disposition: attachment; filename*=gb2312''%D6%A7\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n=E4=BB=9=\r\n"
    )


CASES: dict[str, Callable[[], bytes]] = {
    "nested-multipart-1000": lambda: nested_multipart(1000),
    "nested-multipart-5000": lambda: nested_multipart(5000),
    "same-boundary-nesting-2000": lambda: same_boundary_nesting(2000),
    "rfc822-chain-1000": lambda: rfc822_chain(1000),
    "rfc822-self-reference": rfc822_self_reference,
    "parts-10000": lambda: many_parts(10_000),
    "undeclared-8bit-parts-2000": lambda: undeclared_8bit_parts(2000),
    "attachment-30MB": lambda: big_attachment(30),
    "truncated-mime": truncated_mime,
    "wrong-boundary": wrong_boundary,
    "absent-boundary": absent_boundary,
    "header-line-1MB": lambda: huge_header_line(1 << 20),
    "subject-1MB": lambda: huge_subject(1 << 20),
    "headers-100000": lambda: many_headers(100_000),
    "nul-bytes": nul_bytes,
    "bad-encoded-words": lambda: bad_encoded_words(5000),
    "bogus-charsets": bogus_charsets,
    "base64-garbage-5MB": lambda: base64_garbage(5),
    "random-text-5MB": lambda: random_text_body(5),
    "nested-html-5MB": lambda: nested_html(5),
    "date-flood": lambda: date_flood(30_000),
    "references-50000": lambda: huge_references(50_000),
    "message-id-100KB": lambda: huge_message_id(100_000),
    "addresses-50000": lambda: many_addresses(50_000),
    "hostile-parameters": hostile_params,
}
