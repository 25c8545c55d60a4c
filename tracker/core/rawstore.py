"""Content-addressed store of raw bytes (sha256), so every version we ever saw can be produced again.

Files live at `<root>/<aa>/<bb>/<sha256>`; writes go to a temporary file first and are renamed into place, so
a run killed half-way never leaves a truncated file under a valid name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from tracker.core.config import get_settings
from tracker.core.errors import NotFoundError


class RawStore:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or get_settings().raw_store_dir)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, body: bytes) -> str:
        """Store bytes (idempotent) and return their sha256."""
        digest = hashlib.sha256(body).hexdigest()
        target = self.path_for(digest)
        if target.exists() and target.stat().st_size == len(body):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def has(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def get(self, sha256: str) -> bytes:
        path = self.path_for(sha256)
        if not path.exists():
            raise NotFoundError(f"raw file {sha256[:12]}… is not in the raw store at {self.root}")
        return path.read_bytes()

    def digests(self) -> list[str]:
        """Every stored digest (for backups and integrity checks)."""
        if not self.root.exists():
            return []
        return sorted(p.name for p in self.root.glob("??/??/*") if p.is_file() and not p.name.startswith("."))
