"""Mail templates: templates/<lang>/<name>.j2 rendered in a Jinja sandbox (see templates/README.md).

The first line of a template is `Subject: ...`, then a blank line, then the body. Rendering is
strict (an unknown variable is an error), text-only (no HTML escaping), sandboxed (no attribute
tricks like `''.__class__`), and formats money and dates for the mail's language with babel.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2
from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_date
from babel.numbers import format_currency as babel_currency
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from bot.core.model import Order
from bot.errors import TemplateError

FALLBACK_LANGUAGE = "en"
LANGUAGES = ("en", "zh", "de", "es", "fr")


@dataclass(frozen=True, slots=True)
class RenderedMail:
    subject: str
    body: str
    language: str  # the language actually used (after any fallback to English)
    template: str  # the file, relative to the templates folder


def sample_context() -> dict[str, Any]:
    """Every variable a template may use, with plausible values (for `dunbot rules check`)."""
    return {
        "customer_name": "Acme Trading",
        "order_id": "PO-2024-0117",
        "amount": Decimal("12500.00"),
        "currency": "USD",
        "due_date": date(2024, 3, 15),
        "valid_until": date(2024, 3, 31),
        "promised_date": date(2024, 3, 20),
        "sender_name": "Alice Chen",
        "company": "Example Manufacturing Co., Ltd.",
        "manager_name": "Bob Li",
    }


def order_context(
    order: Order,
    *,
    sender_name: str,
    company: str,
    manager_name: str = "",
    valid_until: date | None = None,
    promised_date: date | None = None,
) -> dict[str, Any]:
    """The template variables for one order (the keys of `sample_context`, all present)."""
    return {
        "customer_name": order.customer_name or order.customer_email,
        "order_id": order.order_id,
        "amount": order.amount,
        "currency": order.currency,
        "due_date": order.due_date,
        "valid_until": valid_until,
        "promised_date": promised_date,
        "sender_name": sender_name,
        "company": company,
        "manager_name": manager_name,
    }


def base_language(language: str) -> str:
    """'zh-CN' / 'pt_BR' / 'DE' -> 'zh' / 'pt' / 'de'."""
    return language.replace("_", "-").split("-")[0].lower() or FALLBACK_LANGUAGE


MAX_REPEAT = 100_000  # the most a template may repeat a text or list with `*`
MAX_EXPONENT = 64  # the largest exponent of `**`; money and dates never need more


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with `*` and `**` bounded, as it bounds range(): otherwise one template
    line (`'a' * 10**10`, `9**99999999`) takes the daemon's memory or hangs its tick."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right} is larger than {MAX_EXPONENT}")
        if operator == "*" and _repeat(left, right) > MAX_REPEAT:
            raise SecurityError(f"repeating a text or list more than {MAX_REPEAT} times")
        return super().call_binop(context, operator, left, right)


def _repeat(left: Any, right: Any) -> int:
    """How often `left * right` repeats a sequence (0 when it multiplies numbers)."""
    for seq, count in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(count, int):
            return count
    return 0


class SandboxedRenderer:
    """Renders templates/<lang>/<name>.j2; falls back to English when a language lacks one."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = Path(templates_dir)
        self.env = BoundedSandbox(
            loader=jinja2.FileSystemLoader(str(self.templates_dir)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain-text mail; nothing here is ever HTML
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["format_currency"] = _format_currency
        self.env.filters["format_date"] = _format_date

    def path_for(self, name: str, language: str) -> str | None:
        """The template file used for this name and language, or None if neither exists."""
        for lang in dict.fromkeys((base_language(language), FALLBACK_LANGUAGE)):
            rel = f"{lang}/{name}.j2"
            if (self.templates_dir / rel).is_file():
                return rel
        return None

    def render(self, name: str, language: str, context: Mapping[str, Any]) -> RenderedMail:
        """Subject and body of `name` in `language` (else English); TemplateError names file:line."""
        rel = self.path_for(name, language)
        if rel is None:
            raise TemplateError(
                f"{self.templates_dir / FALLBACK_LANGUAGE / name}.j2: template {name!r} not found "
                f"(looked in {base_language(language)}/ and {FALLBACK_LANGUAGE}/)"
            )
        lang = rel.split("/")[0]
        text = self._render_file(rel, {**context, "locale": lang})
        subject, body = _split(text, self.templates_dir / rel)
        return RenderedMail(subject=subject, body=body, language=lang, template=rel)

    def _render_file(self, rel: str, context: Mapping[str, Any]) -> str:
        path = self.templates_dir / rel
        try:
            return self.env.get_template(rel).render(context)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{path}:{exc.lineno}: {exc.message}") from exc
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"{path}: not found ({exc.message})") from exc
        except (
            jinja2.TemplateError,
            TypeError,
            ValueError,
            ArithmeticError,
            LookupError,
            MemoryError,  # a template that asked for too much; the daemon goes on
            RecursionError,  # a macro that calls itself
        ) as exc:
            line = _template_line(exc, path)
            where = f"{path}:{line}" if line else str(path)
            raise TemplateError(f"{where}: {type(exc).__name__}: {exc}") from exc


def _split(text: str, path: Path) -> tuple[str, str]:
    first, _, rest = text.partition("\n")
    if not first.lower().startswith("subject:"):
        raise TemplateError(f"{path}:1: the first line must be 'Subject: ...'")
    subject = first[len("subject:") :].strip()
    if not subject:
        raise TemplateError(f"{path}:1: the subject is empty")
    return subject, rest.lstrip("\n").rstrip() + "\n"


def _template_line(exc: BaseException, path: Path) -> int | None:
    """The template line a render error came from (Jinja maps its frames to the .j2 file)."""
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if Path(frame.f_code.co_filename) == path:
            line = lineno
    return line


def _locale(ctx: Any) -> Locale:
    try:
        return Locale.parse(str(ctx.get("locale", FALLBACK_LANGUAGE)))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(FALLBACK_LANGUAGE)


@jinja2.pass_context
def _format_currency(ctx: Any, amount: Decimal | float, currency: str) -> str:
    """1234.5, 'EUR' -> '1.234,50 €' (de), '€1,234.50' (en), 'EUR 1,234.50' style per locale."""
    return str(babel_currency(Decimal(str(amount)), currency, locale=_locale(ctx)))


@jinja2.pass_context
def _format_date(ctx: Any, value: date | datetime, format: str = "long") -> str:
    """A date written the way the mail's language writes it ('15. März 2024', '2024年3月15日')."""
    day = value.date() if isinstance(value, datetime) else value
    return str(babel_date(day, format=format, locale=_locale(ctx)))
