"""The language of a customer's text, as an ISO 639-1 code ("" when unknown).

lingua-language-detector does the work over a fixed set of languages our customers write in.
Its detector is built once, lazily, and kept at module level: building is cheap, but each
language model loads on first use and must not load again per message. It runs in lingua's
low-accuracy mode (trigram models only): about 35 MB and 8x faster instead of about 300 MB
for the Latin-script languages in high-accuracy mode, with the same answers on the labeled
set (tests/test_understanding_scores.py); it guesses worse only on texts of a word or two
("Hello", "test"), where high accuracy mostly guessed wrong as well.
A text mostly in a non-Latin script is decided by the script (Han -> zh, Kana -> ja,
Hangul -> ko, Arabic -> ar, Thai -> th, Devanagari -> hi; Cyrillic asks lingua for ru or uk on
the Cyrillic words only), which also serves texts too short for statistics; a Latin text that
lingua calls Spanish or Portuguese is checked against the function words of both.
Pure: no I/O of our own (lingua reads its bundled models from the installed package).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from lingua import LanguageDetector

MIN_LETTERS = 12  # fewer letters than this: statistics only guess
MIN_LATIN_LETTERS = 4  # "ok", "Hi": nothing to tell
MAX_CHARS = 2000  # the first part of a long text tells its language as well as the whole
# lingua's time grows with the text (~0.6 us a character); its first 400 characters tell the
# language of the labeled set as well as 2000 do (tests/test_understanding_scores.py).
LINGUA_CHARS = 400
LANGUAGE_NAMES = (
    "ENGLISH", "CHINESE", "GERMAN", "SPANISH", "FRENCH", "ITALIAN", "PORTUGUESE", "RUSSIAN",
    "JAPANESE", "ARABIC", "TURKISH", "KOREAN", "DUTCH", "POLISH", "VIETNAMESE", "THAI",
    "INDONESIAN", "HINDI", "UKRAINIAN", "SWEDISH",
)  # fmt: skip
SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana first: Japanese also writes Han
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh", re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
CYRILLIC_WORD_RE = re.compile(r"[\u0400-\u04ff]+")
PORTUGUESE_RE = re.compile(
    r"[ãõç]|\b(?:não|você|vocês|obrigad[oa]|do|da|dos|das|um|uma|é|já|em|na|oi|olá|também|bom|boa"
    r"|recebid[oa]s?|ótimo|valeu|abraços?|pagamento|segue|muito|precisamos|todo o|toda a|todos os|todas as"
    r"|ontem|hoje|amanhã|aí)\b"
)
SPANISH_RE = re.compile(
    r"[ñ¿¡]|\b(?:el|los|las|y|del|una|es|ya|pero|hola|gracias|también|usted|muy|buen[oa]s?"
    r"|recibid[oa]s?|pago|saludos|adjunto)\b"
)
# Chat English ("sent it bro check ur acct", "got ur msg will revert") is too short and too
# misspelt for statistics, which read it as Portuguese, Swedish or Indonesian; its words do not lie.
ENGLISH_RE = re.compile(
    r"\b(?:i|im|i'm|you|u|ur|your|we|us|our|my|me|it|is|are|was|the|a|to|of|and|in|on|for|not|no"
    r"|yet|will|can|pls|plz|please|ok|okay|thanks|thx|got|sent|send|check|msg|money|pay|paid|bank"
    r"|wait|them|they|first|now|today|tmrw|tomorrow|bro|sis|dear|sir|madam|done|sorry|this|that)\b"
)
MAX_CHAT_WORDS = 15  # longer texts: lingua knows better
# Brazilian chat ("vou pagar semana que vem blz") reads as French or Italian to statistics.
PORTUGUESE_CHAT_RE = re.compile(
    r"\b(?:vou|vamos|vai|semana que vem|mês que vem|blz|beleza|vc|obg|tb|tbm|pra|né|tá|hj)\b"
)
FRENCH_RE = re.compile(r"\b(?:je|nous|vous|le|la|les|des|est|et|pas|merci|semaine prochaine)\b")
WORD_TOKEN_RE = re.compile(r"[^\W\d_][\w']*")
LETTER_RE = re.compile(r"[^\W\d_]")
NOISE_RE = re.compile(r"https?://\S+|\S+@\S+|[\w.-]+\.(?:com|net|org|cn)\b")


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language, or "" when there is too little to tell."""
    sample = NOISE_RE.sub(" ", text[:MAX_CHARS])
    letters = len(LETTER_RE.findall(sample))
    if letters == 0:
        return ""
    script = script_language(sample)
    if script == "ru":  # Cyrillic: Russian or Ukrainian; ask lingua about those words only
        words = " ".join(CYRILLIC_WORD_RE.findall(sample))
        found = _lingua(words) if len(words) >= MIN_LETTERS else ""
        return found if found in ("ru", "uk") else script
    if script:  # one language per script in our set: the script decides
        return script
    if letters < MIN_LATIN_LETTERS:
        return ""
    return _lingua(sample) or script


def script_language(text: str) -> str:
    """The language a non-Latin script implies, by the script most letters are in, else ""."""
    best, count = "", 0
    for code, regex in SCRIPTS:
        found = len(regex.findall(text))
        if found > count:
            best, count = code, found
    if best == "zh" and _has_kana(text):
        return "ja"
    latin = len(re.findall(r"[A-Za-z\u00c0-\u024f]", text))
    weight = count * (2 if best in ("zh", "ja", "ko") else 1)  # one Han char is about a word
    return best if weight >= latin / 4 and count else ""


def _has_kana(text: str) -> bool:
    return re.search(r"[\u3040-\u30ff]", text) is not None


def _lingua(text: str) -> str:
    found = _detector().detect_language_of(head(text, LINGUA_CHARS))
    code = "" if found is None else str(found.iso_code_639_1.name.lower())
    if code not in ("en", "") and _chat_english(text):
        return "en"
    if code in ("fr", "it") and _chat_portuguese(text):
        return "pt"
    return _iberian(text, code) if code in ("es", "pt") else code


def head(text: str, limit: int) -> str:
    """The start of the text, at most `limit` characters, cut at a space when one is near."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit + 1)
    return text[: cut if cut > limit // 2 else limit]


def _chat_english(text: str) -> bool:
    """A short text of which at least 40% of the words (and two or more) are common English."""
    words = WORD_TOKEN_RE.findall(text.lower())
    if not words or len(words) > MAX_CHAT_WORDS:
        return False
    english = sum(1 for word in words if ENGLISH_RE.fullmatch(word))
    return english >= 2 and english >= 0.4 * len(words)


def _chat_portuguese(text: str) -> bool:
    """A short text with two or more Portuguese chat words and no French function word."""
    lowered = text.lower()
    if len(WORD_TOKEN_RE.findall(lowered)) > MAX_CHAT_WORDS or FRENCH_RE.search(lowered):
        return False
    return len(PORTUGUESE_CHAT_RE.findall(lowered)) + len(PORTUGUESE_RE.findall(lowered)) >= 2


def _iberian(text: str, code: str) -> str:
    """Short Spanish and Portuguese look alike to statistics; their function words do not."""
    lowered = text.lower()
    pt = len(PORTUGUESE_RE.findall(lowered))
    es = len(SPANISH_RE.findall(lowered))
    if code == "es" and pt >= es + 2:
        return "pt"
    if code == "pt" and es >= pt + 2:
        return "es"
    return code


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    from lingua import Language, LanguageDetectorBuilder

    languages = [getattr(Language, name) for name in LANGUAGE_NAMES]
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()
