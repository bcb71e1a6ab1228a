"""Signature heuristics on plain text: is a line a person's name, a tail a name block.

Pure, and no patterns: the rule-file patterns (sign-offs, footers) are matched in reply.py;
these say what a name, a title or an address line looks like in any language.
"""

from __future__ import annotations


def looks_like_name(text: str) -> bool:
    """One to four capitalised words ("Grace", "K. Hofmann", "Ольга Смирнова")."""
    words = text.strip(" ,").split()
    if not 1 <= len(words) <= 4 or len(text.strip()) > 40:
        return False
    last = words[-1]
    if last[-1] in "!?:;。！？" or (last[-1] == "." and "." not in last[:-1] and len(last) > 2):
        return False  # a sentence ("In April."), not a name ("K. Hofmann", "John Doe, Ph.D.")
    return all(w[0].isupper() and not any(c.isdigit() for c in w) for w in words)


def after_sentence(line: str) -> bool:
    """The line ends a sentence, so a name on the next line may start a signature."""
    return line.rstrip().endswith((".", "!", "?", "。", "！", "？", "…"))


def trim_symbols(line: str) -> str:
    """A line without trailing punctuation and emoji ("Cheers 🎉" -> "Cheers")."""
    end = len(line)
    while end and not line[end - 1].isalnum():
        end -= 1
    return line[:end].strip()


def name_block(tail: list[str]) -> bool:
    """A name, a title, a company, an address: a few short lines, none of them a sentence."""
    rest = [line.strip() for line in tail if line.strip()]
    if len(rest) > 10:
        return False
    for line in rest:
        words = len(line.split())
        if (
            len(line) > 80
            or words > 12
            or line.endswith(("?", "？"))
            or (line.endswith(".") and words > 6)
        ):
            return False
    return True
