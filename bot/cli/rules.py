"""`dunbot rules check [DIR]`: validate every rules file and render every template it names.

Prints each problem as `file:line: message` and exits 1 if there is any; otherwise prints
`rules OK: N files, M templates`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.adapters.rulefiles import read_doc
from bot.adapters.templates import LANGUAGES, SandboxedRenderer, sample_context
from bot.cli.common import config_path, fail_on_bot_error
from bot.cli.main import app
from bot.config import load_config
from bot.core.ruleset import Ruleset
from bot.core.yamldoc import YamlDoc
from bot.errors import BotError, TemplateError
from bot.paths import DEFAULT_RULES_DIR, DEFAULT_TEMPLATES_DIR

rules_app = typer.Typer(help="Rules and templates: validate them.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")

# Teammates' validators, used when their modules are present: (doc stem, module, class, method).
# A `from_docs` method gets every doc; `from_doc` gets its own.
_VALIDATORS: tuple[tuple[str, str, str, str], ...] = (
    ("orders", "bot.core.ordernumbers", "OrderPatterns", "from_doc"),
    ("quotes", "bot.core.reply", "QuotePatterns", "from_doc"),
    ("autoreply", "bot.core.autodetect", "AutoPatterns", "from_doc"),
    ("intents", "bot.core.intent", "IntentPatterns", "from_doc"),
    ("intents", "bot.core.dates", "DatePatterns", "from_doc"),
    ("intents", "bot.core.understand", "UnderstandingRules", "from_docs"),
)


@dataclass
class CheckReport:
    files: int = 0
    templates: int = 0
    errors: list[str] = field(default_factory=list)


@rules_app.command("check")
def check(
    ctx: typer.Context,
    rules_dir: Annotated[
        Path | None, typer.Argument(help="Rules folder (default: the config's).")
    ] = None,
) -> None:
    """Validate rules/*.yaml and render every template they name, in every language."""
    with fail_on_bot_error():
        default_rules, templates_dir = _folders(config_path(ctx))
    report = check_rules(rules_dir or default_rules, templates_dir)
    for error in report.errors:
        typer.echo(error)
    if report.errors:
        raise typer.Exit(1)
    typer.echo(f"rules OK: {report.files} files, {report.templates} templates")


def _folders(config_file: Path) -> tuple[Path, Path]:
    """The configured rules and templates folders, else the shipped defaults."""
    if not config_file.is_file():
        return DEFAULT_RULES_DIR, DEFAULT_TEMPLATES_DIR
    config = load_config(config_file)
    return config.rules, config.templates


def check_rules(rules_dir: Path, templates_dir: Path) -> CheckReport:
    """Every error in the folder's YAML files and in the templates the rules refer to."""
    report = CheckReport()
    if not rules_dir.is_dir():
        report.errors.append(f"{rules_dir}: rules folder not found")
        return report
    docs: dict[str, YamlDoc] = {}
    broken: set[str] = set()
    for path in sorted(rules_dir.glob("*.yaml")):
        report.files += 1
        try:
            docs[path.stem] = read_doc(path)
        except BotError as exc:
            report.errors.append(str(exc))
            broken.add(path.stem)
    if "default" not in docs and "default" not in broken:
        report.errors.append(
            f"{rules_dir / 'default.yaml'}: missing; the follow-up rules live here"
        )
    ruleset = _validate(docs, report, whole=not broken)
    if ruleset is not None:
        _render_all(ruleset, SandboxedRenderer(templates_dir), report)
    return report


def _validate(docs: Mapping[str, YamlDoc], report: CheckReport, *, whole: bool) -> Ruleset | None:
    """Run every validator that applies; those that need the whole folder only if it parsed."""
    ruleset = _attempt(lambda: Ruleset.from_docs(docs), report) if "default" in docs else None
    for stem, module, cls, method in _VALIDATORS:
        validator = _validator(module, cls, method)
        if stem not in docs or validator is None or (method == "from_docs" and not whole):
            continue
        arg: Any = docs if method == "from_docs" else docs[stem]
        _attempt(lambda v=validator, a=arg: v(a), report)  # type: ignore[misc]
    return ruleset if isinstance(ruleset, Ruleset) else None


def _attempt(fn: Callable[[], Any], report: CheckReport) -> Any:
    """Run one validator; its error joins the report once (validators overlap)."""
    try:
        return fn()
    except BotError as exc:
        if str(exc) not in report.errors:
            report.errors.append(str(exc))
        return None


def _validator(module: str, cls: str, method: str) -> Callable[[Any], Any] | None:
    try:
        found = getattr(getattr(importlib.import_module(module), cls), method)
    except (ImportError, AttributeError):
        return None
    return found if callable(found) else None


def _render_all(ruleset: Ruleset, renderer: SandboxedRenderer, report: CheckReport) -> None:
    context = sample_context()
    for name in sorted(ruleset.templates()):
        if renderer.path_for(name, "en") is None:
            report.errors.append(
                f"{renderer.templates_dir / 'en' / name}.j2: missing; {ruleset.source} names "
                f"template {name!r} (English is the fallback for every language)"
            )
            continue
        for language in LANGUAGES:
            try:
                renderer.render(name, language, context)
                report.templates += 1
            except TemplateError as exc:
                report.errors.append(str(exc))
