"""YAML text to plain data, remembering the line of every key, so errors can say file:line.

Pure: takes the text and a name for messages, reads no file. Rule and pattern loaders
validate the data with pydantic and turn its error locations into lines with `line_of`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.errors import RuleError

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class YamlDoc:
    path: str
    data: Any
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)  # key path -> 1-based line

    def line_of(self, loc: Sequence[Any]) -> int | None:
        """The line of the deepest known prefix of a key path (e.g. a pydantic error's loc)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)

    def error(self, loc: Sequence[Any], msg: str) -> RuleError:
        return RuleError(self.path, self.line_of(loc), msg)


def parse_yaml(text: str, path: str) -> YamlDoc:
    """Parse YAML safely; a syntax error becomes RuleError(path, line, what is wrong)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise RuleError(path, line, f"not valid YAML: {exc.problem or exc}") from exc
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _index(node, (), lines)
    return YamlDoc(path, data, lines)


def _index(node: yaml.Node, prefix: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    lines.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[prefix + (key,)] = key_node.start_mark.line + 1
            _index(value_node, prefix + (key,), lines)
            # pydantic reports keys as given; keep the line for the value too
            lines[prefix + (key,)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, prefix + (i,), lines)


def validated(model: type[M], doc: YamlDoc, data: Any, *, at: tuple[Any, ...] = ()) -> M:
    """`data` (None counts as {}) as a `model`; an error is a RuleError at its line. `at`: where
    `data` sits in the file, when it is one section of it."""
    try:
        return model.model_validate({} if data is None else data)
    except ValidationError as exc:
        raise pydantic_errors(doc, exc, at=at) from exc


def pydantic_errors(doc: YamlDoc, exc: Any, *, at: tuple[Any, ...] = ()) -> RuleError:
    """The first pydantic ValidationError entry as a RuleError at its line (all listed in msg);
    `at` prefixes its location (the section of the file that was validated)."""
    errors = exc.errors()
    first = errors[0]
    loc = (*at, *first.get("loc", ()))
    where = ".".join(str(p) for p in loc) or "(top)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return doc.error(loc, f"{where}: {first.get('msg', 'invalid')}{more}")
