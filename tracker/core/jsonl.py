"""The one JSONL reader: labelled files, seed files, backups and stdin all read objects the same way, and a bad
line is an error that names where it is (`file:line: ...`), never a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from tracker.core.errors import ValidationError


def location(where: str, number: int) -> str:
    """How messages name a line: `path:12` for a file (as YAML errors do), `stdin, line 12` for a stream."""
    return f"{where}, line {number}" if where == "stdin" else f"{where}:{number}"


def iter_jsonl(lines: Iterable[str], where: str, *, error: type[Exception] = ValidationError,
               ) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line; `where` names the input in messages ("stdin", a path)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{location(where, number)}: invalid JSON, the line is not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise error(f"{location(where, number)}: expected a JSON object")
        yield number, row


def read_jsonl(path: Path, *, error: type[Exception] = ValidationError, missing_ok: bool = False,
               ) -> Iterator[tuple[int, dict]]:
    """`iter_jsonl` over a file; a missing file is an error unless `missing_ok` (then nothing is read)."""
    if not path.is_file():
        if missing_ok:
            return
        raise error(f"{path}: file not found")
    with path.open(encoding="utf-8") as handle:
        yield from iter_jsonl(handle, str(path), error=error)
