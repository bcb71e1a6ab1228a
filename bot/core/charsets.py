"""Bytes to text when the charset label lies, is unknown or missing; RFC 2047 encoded words.

Pure functions that never raise: the worst outcome is text with replacement characters.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri
import re
import unicodedata
from collections.abc import Iterator

from charset_normalizer import from_bytes

# Labels that lie: mail clients declare the small charset and use its superset (WHATWG encoding spec).
CHARSET_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-2022-jp": "iso2022_jp_ext",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "x-sjis": "cp932",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "iso-8859-9": "cp1254",
    "tis-620": "cp874",
    "x-mac-cyrillic": "mac_cyrillic",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
}
# Tried in this order when nothing is declared or the declaration fails (see _plausibility).
GUESSES = ("gb18030", "big5hkscs", "cp932", "cp949", "cp1252", "cp1251", "koi8_r", "cp1250")
ENCODED_WORD_RE = re.compile(r"=\?([^?\s*]+)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
FAMILIES = (
    (
        ("iso-2022-jp", "shift", "sjis", "x-sjis", "euc-jp", "cp932", "windows-31j"),
        ("cp932", "euc_jp"),
    ),
    (("gb", "x-gbk", "cp936", "euc-cn", "big5", "cp950"), ("gb18030", "big5hkscs")),
    (("ks_c", "euc-kr", "cp949", "iso-2022-kr"), ("cp949",)),
)
ISO_8859_SUFFIX_RE = re.compile(r"^(iso-?8859-\d+)-[ie]$")
GUESS_LIMIT = 4_000  # bytes scored by hand; longer data goes to charset_normalizer first


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Decode text with its declared charset, its superset, or a guess; never raises.

    Valid UTF-8 with non-ASCII bytes wins over any other declaration: clients that lie about
    the charset almost always send UTF-8, and other charsets almost never form valid UTF-8.
    So does UTF-8 with a stray bad byte (a header cut in the middle of a character).
    """
    if _needs_declared(declared):  # ISO-2022-*, UTF-7, UTF-16/32: the label is the only key
        found = _declared_7bit(data, declared or "")
        if found is not None:
            return found
    if data.isascii():
        return data.decode("ascii")
    found = _utf8(data)
    if found is not None:
        return found
    for name in _charset_candidates(declared):
        try:
            return data.decode(name)
        except (ValueError, LookupError):  # UnicodeError: idna, "undefined" and the like
            continue
    return _guess(data)


def _needs_declared(declared: str | None) -> bool:
    """Charsets whose bytes do not read as ASCII or UTF-8 text."""
    name = (declared or "").strip().strip('"').lower()
    return name.startswith(("iso-2022", "utf-7", "unicode-1-1-utf-7", "utf-16", "utf-32"))


def _declared_7bit(data: bytes, declared: str) -> str | None:
    name = declared.strip().strip("\"'").lower()
    for codec in (CHARSET_SUPERSETS.get(name, name), name):
        try:
            return data.decode(codec)
        except (ValueError, LookupError):  # UnicodeError: idna, "undefined" and the like
            continue
    if name.startswith("iso-2022-jp") and data.isascii():  # 8-bit data is not ISO-2022 at all
        return _iso2022jp_as_cp932(data)
    return None


def _utf8(data: bytes) -> str | None:
    """UTF-8, or UTF-8 with a few bad sequences among many good ones (other charsets give
    almost nothing but bad sequences when read as UTF-8)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = len(text) - len(text.encode("ascii", "ignore")) - bad  # non-ASCII characters, in C
    return text if good >= 4 * bad and bad <= max(1, good // 10) else None


def _iso2022jp_as_cp932(data: bytes) -> str:
    """ISO-2022-JP as Microsoft writes it (CP50220): JIS X 0208 plus the NEC rows (①, ㈱),
    which Python's iso2022_jp rejects. Each two-byte JIS pair becomes Shift_JIS for cp932."""
    out = bytearray()
    double = False
    for chunk in re.split(rb"(\x1b\$[@B]|\x1b\([BJ])", data):
        if chunk.startswith(b"\x1b"):
            double = chunk[1:2] == b"$"
            continue
        if not double:
            out += chunk
            continue
        for j1, j2 in zip(chunk[::2], chunk[1::2], strict=False):
            out += _jis_to_sjis(j1, j2)
    return out.decode("cp932", errors="replace")


def _jis_to_sjis(j1: int, j2: int) -> bytes:
    s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
    s2 = j2 + (0x1F if j1 % 2 else 0x7E)
    if j1 % 2 and s2 >= 0x7F:
        s2 += 1
    return bytes((s1 & 0xFF, s2 & 0xFF))


def _charset_candidates(declared: str | None) -> Iterator[str]:
    """The declared charset, its superset, its siblings (a mislabelled Japanese mail is still
    Japanese), then UTF-8."""
    if declared:
        name = declared.strip().strip("\"'").lower()
        name = ISO_8859_SUFFIX_RE.sub(r"\1", name)  # iso-8859-8-i: the -i/-e say only direction
        yield CHARSET_SUPERSETS.get(name, name)
        try:
            yield codecs.lookup(name).name
        except (LookupError, ValueError):
            pass
        for prefixes, siblings in FAMILIES:
            if name.startswith(prefixes):
                yield from siblings
    yield "utf-8"


def _guess(data: bytes) -> str:
    """The most plausible decoding: by hand for short data, charset_normalizer for long."""
    if len(data) > GUESS_LIMIT:
        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    scored: list[tuple[float, int, str]] = []
    for rank, name in enumerate(GUESSES):
        try:
            text = data.decode(name)
        except UnicodeDecodeError:
            continue
        scored.append((_plausibility(text[:GUESS_LIMIT]), -rank, text))  # a sample ranks
    if scored:
        return max(scored)[2]
    return data.decode("utf-8", errors="replace")


def _plausibility(text: str) -> float:
    """Mean of how ordinary each character is in its context (1.0 = ASCII, a letter, a common
    Hanzi), less 0.3 when the non-ASCII letters mix scripts, as mojibake does."""
    padded = f" {text} "
    scores = [
        _char_score(padded[i], padded[i - 1], padded[i + 1]) for i in range(1, len(padded) - 1)
    ]
    score = sum(scores) / max(len(text), 1)
    scripts = {_script(ch) for ch in text if ch.isalpha() and not ch.isascii()}
    return score - 0.3 if len(scripts) > 1 else score


def _script(ch: str) -> str:
    name = unicodedata.name(ch, "?").split()[0]
    return (
        "CJK" if name in ("HIRAGANA", "KATAKANA", "FULLWIDTH", "HALFWIDTH", "IDEOGRAPHIC") else name
    )


def _char_score(ch: str, before: str, after: str) -> float:
    """How ordinary `ch` is between its neighbours. Mojibake shows as foreign letters glued to
    Latin ones ("礪ger", "Zaїуіж"), capitals inside words ("пРМБФЙН"), accented runs ("Ïðèâåò")."""
    if ch.isascii():
        return 1.0 if ch.isprintable() or ch in "\r\n\t" else 0.0
    if not ch.isalpha():
        return _mark_score(ch)
    glued = any(n.isascii() and n.isalpha() for n in (before, after))
    if _script(ch) != "LATIN" and glued:
        return 0.4
    if unicodedata.name(ch, "").startswith(("CJK UNIFIED", "HANGUL SYLLABLE")):
        return 1.0 if _common_east_asian(ch) else 0.3
    if ch.isupper() and before.isalpha():
        return 0.5
    if _script(ch) == "CJK":
        return 1.0
    latin_run = _script(ch) == "LATIN" and not before.isascii() and before.isalpha()
    return 0.5 if latin_run else 0.9


def _mark_score(ch: str) -> float:
    category = unicodedata.category(ch)
    if category.startswith(("P", "Z")):
        return 1.0 if _script(ch) == "CJK" or category == "Zs" else 0.5  # "，" "。" are ordinary
    return 0.0


def _common_east_asian(ch: str) -> bool:
    """In the frequent blocks of GB2312 (level 1), Big5 or KS X 1001 Hangul."""
    for codec, low, high in (("gb2312", 0xB0, 0xD7), ("big5", 0xA4, 0xC6), ("euc_kr", 0xB0, 0xC8)):
        try:
            lead = ch.encode(codec)[0]
        except UnicodeEncodeError:
            continue
        if low <= lead <= high:
            return True
    return False


def decode_encoded_words(text: str) -> str:
    """RFC 2047 words; adjacent ones with the same charset are joined before decoding so a
    character split across two words survives. Words that cannot be decoded stay as they are."""
    if "=?" not in text:  # no encoded word can start
        return text
    out: list[str] = []
    pending: tuple[str, bytes] | None = None
    pos = 0
    for match in ENCODED_WORD_RE.finditer(text):
        gap = text[pos : match.start()]
        word = _word_bytes(match)
        if word is None:
            continue
        if pending and not gap.strip() and pending[0] == word[0]:
            pending = (pending[0], pending[1] + word[1])
        else:
            if pending:
                out.append(decode_bytes(pending[1], pending[0]))
            out.append(gap if (gap.strip() or not pending) else "")
            pending = word
        pos = match.end()
    if pending:
        out.append(decode_bytes(pending[1], pending[0]))
    out.append(text[pos:])
    return "".join(out)


def _word_bytes(match: re.Match[str]) -> tuple[str, bytes] | None:
    charset, encoding, payload = match.group(1).lower(), match.group(2).upper(), match.group(3)
    try:
        if encoding == "B":
            padded = payload + "=" * (-len(payload) % 4)
            return charset, base64.b64decode(padded.encode("ascii"))
        return charset, quopri.decodestring(payload.replace("_", " ").encode("ascii"), header=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None
