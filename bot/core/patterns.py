"""Regexes from rule files, case-insensitive; a bad one is a RuleError at its own YAML line."""

from __future__ import annotations

import re
from typing import Any

from bot.core.yamldoc import YamlDoc


def compile_at(doc: YamlDoc, loc: tuple[Any, ...], pattern: str, flags: int = 0) -> re.Pattern[str]:
    """`pattern` (found at key path `loc` of `doc`) compiled with re.IGNORECASE | flags."""
    try:
        return re.compile(pattern, re.IGNORECASE | flags)
    except re.error as exc:
        where = ".".join(map(str, loc))
        raise doc.error(loc, f"{where}: not a valid regular expression: {exc}") from exc


def alternation(doc: YamlDoc, key: str, patterns: list[str], flags: int = 0) -> re.Pattern[str]:
    """One regex for the list at `key`, each entry checked alone first so an error names its
    own line; an empty list matches nothing."""
    for i, pattern in enumerate(patterns):
        compile_at(doc, (key, i), pattern, flags)
    if not patterns:
        return re.compile(r"(?!)")
    return compile_at(doc, (key,), "|".join(f"(?:{p})" for p in patterns), flags)
