"""Reads rules/*.yaml from disk into YamlDocs (with line marks); the core validates them."""

from __future__ import annotations

from pathlib import Path

from bot.core.yamldoc import YamlDoc, parse_yaml
from bot.errors import RuleError


def read_doc(path: Path) -> YamlDoc:
    """One YAML file; a missing or unreadable file is a RuleError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RuleError(path, None, "file not found; run `dunbot init` or point `rules:` at a folder that has it") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(path, None, f"cannot read: {exc}") from exc
    return parse_yaml(text, str(path))


def read_rules_dir(rules_dir: Path) -> dict[str, YamlDoc]:
    """Every *.yaml in the folder, keyed by file stem ("orders", "intents", "quotes", ...)."""
    if not rules_dir.is_dir():
        raise RuleError(rules_dir, None, "rules folder not found")
    return {path.stem: read_doc(path) for path in sorted(rules_dir.glob("*.yaml"))}
