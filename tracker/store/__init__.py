"""The store: tables, span upkeep, version facts, the vocabulary, full-text search and backup.

Importing the package registers span upkeep (`spans`), so every session that writes assessments keeps the
as-of index in step.
"""

from tracker.store import spans as _spans  # noqa: F401  (registers the after-flush listener)
