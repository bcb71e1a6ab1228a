"""Order numbers in mail text: "PO# 4711", "订单号：4711", "Bestell-Nr. 4711" -> one canonical form.

The patterns are data (rules/orders.yaml), validated here; this module reads no file.

A number is only recognised behind a keyword (PO, order, 订单, Bestellung, ...), optionally a
marker (No., Nr., #, 号, 番号, ...), so bare dates, phone numbers and amounts in a message are
never taken for one; `reject` and `not_followed_by` catch the rest ("order 500 pcs",
"invoice 2024-03-05", "invoice 12,500.00"), and a valid IBAN is never an order number.
The one exception: an id whose letter prefix is listed in `prefixes` and glued to its digits
("AB-27091", "SO88123", "INV-2025-118") is self-evident and found without a keyword.

How a stated number relates to `Order.order_id` (see `same_order_number`): both are reduced to a
key (upper case, without spaces, dashes, dots, slashes, '#'); equal keys are the same order, and
a bare number also equals an id that is the same number behind a letter prefix ("4711" is
"PO-4711"), while two different prefixes never match ("PI-4711" is not "PO-4711").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from bot.core.yamldoc import YamlDoc, pydantic_errors

# Between keyword, marker and number: spaces and the punctuation people put there.
SEPARATOR = r"[\s#:.\-_/]*"
# After the number: not glued to more letters/digits ("12,500", "4711abc" are not 4711).
NUMBER_END = r"(?![0-9A-Za-z]|[.,/\-][0-9A-Za-z])"
KEY_DROP_RE = re.compile(r"[\s\-_./#:]+")
PREFIX_RE = re.compile(r"^([A-Z]+)(?=\d)")
# "PO-", "PI#", "SO": part of the id as written
JOINED_PREFIX_RE = re.compile(r"[A-Za-z]{1,4}[-#]?")
TOKEN_RE = re.compile(r"[0-9A-Za-z](?:[0-9A-Za-z\-_/.#]*[0-9A-Za-z])?")
DEFAULT_NUMBER = r"\d[\dA-Z]*(?:[-/_.][\dA-Z]+)*"
# The digits (and what follows) of a self-evident id after its glued prefix.
# Digits first, then only separated parts: "AB5E0871163DD5D9" (hex, a message id) is no id.
GLUED_TAIL = r"\d+(?:[-/_.][\dA-Z]+)*"
# ISO 13616 IBAN: country, two check digits, 11-30 letters/digits; checked by mod 97.
IBAN_RE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")


def _regex(value: str) -> str:
    try:
        compiled = re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc}): {value!r}") from exc
    if compiled.groupindex:
        raise ValueError(f"named groups (?P<...>) are not allowed here: {value!r}")
    if compiled.fullmatch(""):
        raise ValueError(f"must not match empty text: {value!r}")
    return value


def _template(value: str) -> str:
    if "{number}" not in value:
        raise ValueError("must contain {number}, e.g. '{number}' or 'PO-{number}'")
    try:
        value.format(number="1")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"only {{number}} may appear in braces ({exc})") from exc
    return value


def _domain(value: str) -> str:
    domain = value.strip().lower()
    if not re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]+", domain):
        raise ValueError(f"not a domain name: {value!r}")
    return domain


Regex = Annotated[str, AfterValidator(_regex)]


class _Schema(BaseModel):
    """The shape of rules/orders.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keywords: list[Regex] = Field(min_length=1)
    markers: list[Regex] = []
    number: Regex = DEFAULT_NUMBER
    min_digits: int = Field(3, ge=1, le=30)
    canonical: Annotated[str, AfterValidator(_template)] = "{number}"
    reject: list[Regex] = []
    not_followed_by: list[Regex] = []
    prefixes: list[Regex] = []
    free_mail_domains: list[Annotated[str, AfterValidator(_domain)]] = []


@dataclass(frozen=True)
class OrderPatterns:
    """Compiled order-number patterns plus the free-mail domains (never an order's domain)."""

    finder: re.Pattern[str]
    min_digits: int
    canonical: str
    reject: tuple[re.Pattern[str], ...]
    not_followed_by: re.Pattern[str] | None
    free_mail_domains: frozenset[str]
    glued: re.Pattern[str] | None = None  # self-evident ids: a listed prefix glued to digits

    @classmethod
    def from_doc(cls, doc: YamlDoc) -> OrderPatterns:
        """Validate a parsed rules/orders.yaml; errors are RuleError naming file:line."""
        if not isinstance(doc.data, dict):
            raise doc.error((), "expected a mapping with at least 'keywords'")
        try:
            schema = _Schema.model_validate(doc.data)
        except ValidationError as exc:
            raise pydantic_errors(doc, exc) from exc
        return cls._compile(schema)

    @classmethod
    def _compile(cls, schema: _Schema) -> OrderPatterns:
        keywords = "|".join(_bounded(k) for k in schema.keywords)
        markers = "|".join(f"(?:{m})" for m in schema.markers)
        marker = f"(?:(?:{markers}){SEPARATOR})?" if markers else ""
        finder = f"(?:{keywords}){SEPARATOR}{marker}(?P<number>{schema.number}){NUMBER_END}"
        after = "|".join(f"(?:{p})" for p in schema.not_followed_by)
        prefixes = "|".join(f"(?:{p})" for p in schema.prefixes)
        glued = rf"(?<![^\W_])(?P<number>(?:{prefixes})[-#]?{GLUED_TAIL}){NUMBER_END}"
        return cls(
            finder=re.compile(finder, re.IGNORECASE),
            min_digits=schema.min_digits,
            canonical=schema.canonical,
            reject=tuple(re.compile(p, re.IGNORECASE) for p in schema.reject),
            not_followed_by=re.compile(rf"\s*(?:{after})", re.IGNORECASE) if after else None,
            free_mail_domains=frozenset(schema.free_mail_domains),
            glued=re.compile(glued, re.IGNORECASE) if prefixes else None,
        )


def _bounded(keyword: str) -> str:
    """Alphabetic keywords must stand alone ("PO", not the "po" of "report"); CJK ones need not."""
    if any(ord(ch) >= 0x2E80 for ch in keyword):
        return f"(?:{keyword})"
    return rf"(?<![^\W\d_])(?:{keyword})(?![^\W\d_])"


def find_order_numbers(text: str, patterns: OrderPatterns) -> list[str]:
    """Order numbers stated in `text`, canonical, de-duplicated, in order of appearance.

    The caller decides what to search (e.g. the subject, or the reply without its quote).
    """
    found: list[str] = []
    keys: set[str] = set()  # of the numbers found; and `same_order_number` by set lookups:
    plain: set[str] = set()  # keys without a letter prefix ("4711")
    bares: set[str] = set()  # prefixed keys without their prefix ("PO4711" -> "4711")
    for number in _candidates(fold(text), patterns):
        canonical = _canonical(number, patterns.canonical)
        key = order_key(canonical)
        prefix = PREFIX_RE.match(key)
        bare = key[prefix.end() :] if prefix else key
        if not key or key in keys or (bare in plain if prefix else key in bares):
            continue
        found.append(canonical)
        keys.add(key)
        (bares if prefix else plain).add(bare)
    return found


def fold(text: str) -> str:
    """NFKC (full-width "４７１１" is "4711"), and every decimal digit as ASCII ("٤٧١١" is "4711")."""
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def _as_written(match: re.Match[str]) -> str | None:
    """A code-like id written in one piece ("PO-2025-0142", "PI#4711") is reported whole."""
    token = match.group(0)
    head = token[: match.start("number") - match.start()]
    return token if JOINED_PREFIX_RE.fullmatch(head) else None


def _candidates(text: str, patterns: OrderPatterns) -> Iterator[str]:
    """Candidates by position; a glued id inside a keyword match is the same candidate."""
    found: dict[int, str] = {}
    spans: list[tuple[int, int]] = []  # of the keyword matches, ascending
    for match in patterns.finder.finditer(text):
        if _acceptable(match, text, patterns):
            whole = _as_written(match)
            found[match.start() if whole else match.start("number")] = whole or match["number"]
            spans.append(match.span())
    if patterns.glued is not None:
        i = 0
        for match in patterns.glued.finditer(text):
            while i < len(spans) and spans[i][1] <= match.start():
                i += 1
            covered = i < len(spans) and spans[i][0] < match.end()
            if not covered and _acceptable(match, text, patterns):
                found[match.start()] = match["number"]
    for start in sorted(found):
        yield found[start]


def _acceptable(match: re.Match[str], text: str, patterns: OrderPatterns) -> bool:
    number = match.group("number")
    if sum(ch.isdigit() for ch in number) < patterns.min_digits:
        return False
    if any(p.fullmatch(number) for p in patterns.reject) or _is_iban(number):
        return False
    if _in_address(text, match.start(), match.end()):
        return False
    return not (patterns.not_followed_by and patterns.not_followed_by.match(text, match.end()))


def _in_address(text: str, start: int, end: int) -> bool:
    """True inside an e-mail address or Message-ID ("order1234@shop.com", "<ab12345.x@host>")."""
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return "@" in text[start:end]


def _is_iban(value: str) -> bool:
    """True for a valid IBAN (mod-97 check): a bank account is never an order number."""
    key = order_key(value)
    if not IBAN_RE.fullmatch(key):
        return False
    digits = "".join(str(int(ch, 36)) for ch in key[4:] + key[:4])
    return int(digits) % 97 == 1


def _canonical(number: str, template: str) -> str:
    clean = "".join(number.split()).upper()
    if clean[:1].isalpha():  # it carries its own prefix already
        return clean
    return template.format(number=clean)


def order_key(value: str) -> str:
    """The comparison key of an order number or id: upper case, no spaces/dashes/dots/slashes/#."""
    return KEY_DROP_RE.sub("", fold(value)).upper()


def same_order_number(a: str, b: str) -> bool:
    """True if two spellings name the same order ("PO# 4711" ~ "po-4711" ~ "4711").

    A bare number equals the same number behind any letter prefix; two different
    prefixes never match, so "PI-4711" is not "PO-4711".
    """
    key_a, key_b = order_key(a), order_key(b)
    if not key_a or not key_b:
        return False
    if key_a == key_b:
        return True
    prefix_a, prefix_b = PREFIX_RE.match(key_a), PREFIX_RE.match(key_b)
    if bool(prefix_a) == bool(prefix_b):
        return False
    bare_a = key_a[prefix_a.end() :] if prefix_a else key_a
    bare_b = key_b[prefix_b.end() :] if prefix_b else key_b
    return bare_a == bare_b


def mentions_order_id(text: str, order_id: str) -> bool:
    """True if `text` contains this order id verbatim (up to case and separators) as one token.

    Only ids with both letters and digits count ("SO-2024-0815"); a bare "4711" could be anything.
    """
    return bool(order_ids_in(text, [order_id]))


def order_ids_in(text: str, order_ids: Iterable[str]) -> list[str]:
    """The ids among `order_ids` that `text` mentions verbatim (see mentions_order_id)."""
    wanted = [i for i in order_ids if _distinctive(order_key(i))]
    if not wanted:
        return []
    tokens = token_keys(text)
    return [i for i in wanted if order_key(i) in tokens]


def token_keys(text: str) -> set[str]:
    """The `order_key` of every code-like token of `text` (what an id written verbatim is)."""
    return {order_key(t) for t in TOKEN_RE.findall(fold(text))}


@dataclass(frozen=True, slots=True)
class OrderIdIndex:
    """Order ids keyed for lookup, built once per list of ids: `same_order_number` and
    `order_ids_in` answered in time proportional to the numbers or tokens asked about,
    not to the number of ids. Answers keep the order of `ids`."""

    ids: tuple[str, ...]
    by_key: dict[str, tuple[int, ...]]  # order_key -> positions in ids
    by_bare: dict[str, tuple[int, ...]]  # prefixed keys ("PO4711") by their bare part ("4711")
    distinctive: frozenset[str]  # keys an id written verbatim in a text is found by

    @classmethod
    def build(cls, ids: Iterable[str]) -> OrderIdIndex:
        all_ids = tuple(ids)
        by_key: dict[str, list[int]] = {}
        by_bare: dict[str, list[int]] = {}
        for pos, order_id in enumerate(all_ids):
            key = order_key(order_id)
            if not key:
                continue
            by_key.setdefault(key, []).append(pos)
            prefix = PREFIX_RE.match(key)
            if prefix:
                by_bare.setdefault(key[prefix.end() :], []).append(pos)
        return cls(
            ids=all_ids,
            by_key={k: tuple(v) for k, v in by_key.items()},
            by_bare={k: tuple(v) for k, v in by_bare.items()},
            distinctive=frozenset(k for k in by_key if _distinctive(k)),
        )

    def same_number(self, number: str) -> list[int]:
        """Positions of the ids `same_order_number(number, id)` holds for, ascending."""
        key = order_key(number)
        if not key:
            return []
        found = set(self.by_key.get(key, ()))
        prefix = PREFIX_RE.match(key)
        if prefix:  # "PO4711" is also the bare id "4711", never another prefix's
            bare = key[prefix.end() :]
            found.update(p for p in self.by_key.get(bare, ()) if not PREFIX_RE.match(bare))
        else:  # "4711" is any "<letters>4711"
            found.update(self.by_bare.get(key, ()))
        return sorted(found)

    def mentioned_in(self, text: str) -> list[int]:
        """Positions of the distinctive ids `text` mentions verbatim (see order_ids_in), ascending."""
        if not self.distinctive:
            return []
        keys = token_keys(text) & self.distinctive
        return sorted(p for key in keys for p in self.by_key[key])


def _distinctive(key: str) -> bool:
    return len(key) >= 4 and any(c.isdigit() for c in key) and any(c.isalpha() for c in key)
