"""Units of work for callers that are not domain code (pages): they name a domain function, and this opens the
session, calls it, commits (or rolls back on error) and closes.

Domain functions take a session and never commit; pages never open sessions or write SQL. These two helpers
are the only bridge, so a page cannot forget a commit or leave a transaction open across a rerun.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlmodel import Session

from tracker.core.db import get_engine, session_scope

P = ParamSpec("P")
T = TypeVar("T")


def perform(fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call `fn(session, ...)` in its own transaction and commit; loaded objects stay readable afterwards."""
    with session_scope() as session:
        return fn(session, *args, **kwargs)


def read_only(fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call `fn(session, ...)` for a read; nothing is committed."""
    with Session(get_engine(), expire_on_commit=False) as session:
        return fn(session, *args, **kwargs)
