"""Reading bounces without rule patterns: RFC 3464 delivery-status fields, RFC 3463 status
codes, and the failed address. Pure; autodetect.py decides what a message is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_SMTP_CODE = re.compile(r"(?:^|[\s(\[])([45])[0-5]\d(?:[ -](?=\D)|$)", re.MULTILINE)
ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
_DSN_FAILED = ("failed",)
DSN_DELAYED = ("delayed",)
DSN_OK = ("delivered", "relayed", "expanded")


def field_blocks(text: str) -> Iterator[dict[str, str]]:
    """RFC 3464 field blocks (per-message, then one per recipient) as lower-cased dicts."""
    for chunk in re.split(r"\n\s*\n", text.replace("\r\n", "\n")):
        fields: dict[str, str] = {}
        key = ""
        for line in chunk.split("\n"):
            if line[:1] in (" ", "\t") and key:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                fields.setdefault(key, value.strip())
        if fields:
            yield fields


def worst(blocks: list[dict[str, str]]) -> dict[str, str]:
    """The first failed recipient, else the first with a 5.x.x status, else a delay, else the first."""
    for block in blocks:
        if block.get("action", "").lower().startswith(_DSN_FAILED):
            return block
    for block in blocks:
        if block.get("status", "").strip().startswith("5"):
            return block
    for block in blocks:
        if block.get("action", "").lower().startswith(DSN_DELAYED):
            return block
    return blocks[0]


def dsn_recipient(block: dict[str, str]) -> str | None:
    """The recipient a field block reports on, lower-cased (the original address first)."""
    for key in ("original-recipient", "final-recipient", "x-actual-recipient"):
        found = ADDRESS.search(block.get(key, "").partition(";")[2] or block.get(key, ""))
        if found:
            return found.group(0).lower()
    return None


def status_from_text(text: str, delayed: bool, hints: Sequence[tuple[re.Pattern[str], str]]) -> str:
    """An RFC 3463 status from free text: stated, else hinted by a phrase, else the SMTP code."""
    found = STATUS.search(text)
    if found and found.group(1) != "2":
        return found.group(0)
    for pattern, status in hints:
        if pattern.search(text):
            return ("4" + status[1:]) if delayed else status
    code = _SMTP_CODE.search(text)
    if code:
        return f"{code.group(1)}.0.0"
    return "4.0.0" if delayed else "5.0.0"


def clean_address(value: str) -> str | None:
    """The first address in `value`, lower-cased, without a sentence's trailing dot."""
    found = ADDRESS.search(value)
    return found.group(0).strip(".").lower() if found else None
