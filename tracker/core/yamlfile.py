"""Read a YAML file into a pydantic model, reporting problems as `file:line: field: message`.

Catalog files are written by hand; a typo must point at the line to fix, not at a stack trace.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import pydantic
import yaml

from tracker.core.errors import CatalogError

Model = TypeVar("Model", bound=pydantic.BaseModel)
Path_ = tuple[str | int, ...]


def _construct(node: yaml.Node, path: Path_, lines: dict[Path_, int]) -> object:
    """Build plain Python data from a node tree, remembering the line of every key and item."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            result[key] = _construct(value_node, (*path, key), lines)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _scalar(node, path)


class _BadScalar(Exception):
    def __init__(self, line: int, path: Path_, message: str) -> None:
        super().__init__(message)
        self.line, self.path, self.message = line, path, message


def _scalar(node: yaml.Node, path: Path_ = ()) -> object:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, yaml.YAMLError) as exc:  # e.g. a date like 2024-13-45
        raise _BadScalar(node.start_mark.line + 1, path, f"invalid value {node.value!r}: {exc}") from None
    finally:
        loader.dispose()


def read_yaml(path: Path) -> tuple[object, dict[Path_, int]]:
    """Parse a YAML file; syntax errors become CatalogError with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(f"{path}: cannot read file: {exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise CatalogError(f"{where}: invalid YAML: {problem}") from exc
    lines: dict[Path_, int] = {}
    if node is None:
        raise CatalogError(f"{path}:1: the file is empty")
    try:
        return _construct(node, (), lines), lines
    except _BadScalar as exc:
        raise CatalogError(f"{path}:{exc.line}: {describe_location(exc.path)}: {exc.message}") from None


def describe_location(loc: Path_) -> str:
    """`companies[3].signatures[0].date` from a pydantic/our path tuple."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def line_of(lines: dict[Path_, int], loc: Path_) -> int:
    """The line of the deepest part of `loc` that exists in the file."""
    for cut in range(len(loc), -1, -1):
        if tuple(loc[:cut]) in lines:
            return lines[tuple(loc[:cut])]
    return 1


def load_model(path: Path, model: type[Model]) -> tuple[Model, dict[Path_, int]]:
    """Validate a YAML file against `model`; the first problems are listed with file, line and field."""
    data, lines = read_yaml(path)
    try:
        return model.model_validate(data), lines
    except pydantic.ValidationError as exc:
        problems = []
        for err in exc.errors()[:5]:
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
            problems.append(f"{path}:{line_of(lines, loc)}: {describe_location(loc)}: {err['msg']}")
        more = len(exc.errors()) - len(problems)
        suffix = f"\n(and {more} more problems)" if more > 0 else ""
        raise CatalogError("\n".join(problems) + suffix) from None


def fail_at(path: Path, lines: dict[Path_, int], loc: Path_, message: str) -> CatalogError:
    """A CatalogError for a cross-reference problem found after validation."""
    return CatalogError(f"{path}:{line_of(lines, loc)}: {describe_location(loc)}: {message}")
