"""Core statements compiled once to the driver's own SQL, for the few hot statements run on the raw driver.

``DriverStatement(stmt, dialect)`` is SQLAlchemy's compilation of ``stmt`` for ``dialect`` (asyncpg:
``$n::TYPE`` placeholders; sqlite3: ``?``), the bind processors of its parameters' types (JSON to text,
UTC datetimes, ...) and the values of the literals SQLAlchemy bound itself.  ``args(params)`` gives the
positional arguments the driver takes, processed exactly as SQLAlchemy's own execution would.  So the
statement is still defined once, in Core, for both databases; only the per-call work of SQLAlchemy's
execution path (compile-cache lookup, execution context, cursor and result objects, a greenlet switch
per call) is skipped.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement


class DriverStatement:
    __slots__ = ("sql", "_plan")

    def __init__(self, stmt: ClauseElement, dialect: Dialect, variable: frozenset[str]):
        """``variable``: the names of the bind parameters each call gives; every other one is a literal."""
        compiled = stmt.compile(dialect=dialect)
        self.sql: str = compiled.string
        plan: list[tuple[str | None, Any, Callable[[Any], Any] | None]] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in variable:
                plan.append((name, None, process))
            else:
                value = bind.effective_value
                plan.append((None, process(value) if process is not None else value, None))
        missing = variable - {name for name, _, _ in plan if name is not None}
        if missing:
            raise ValueError(f"the statement has no bind parameters named {sorted(missing)}")
        self._plan = tuple(plan)

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        """The driver's positional arguments for ``params`` (bind name -> Python value)."""
        out = []
        for name, const, process in self._plan:
            if name is None:
                out.append(const)
            else:
                value = params[name]
                out.append(
                    process(value) if process is not None else value
                )  # as SQLAlchemy: None too (JSON null)
        return out


#: per (sync) engine: its compiled statements, by key
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def driver_statement(
    engine, key: str, build: Callable[[], tuple[ClauseElement, frozenset[str]]]
) -> DriverStatement:
    """The :class:`DriverStatement` ``key`` for ``engine`` (a sync ``Engine``), compiled on first use."""
    per_engine = _CACHE.setdefault(engine, {})
    found = per_engine.get(key)
    if found is None:
        stmt, variable = build()
        found = per_engine[key] = DriverStatement(stmt, engine.dialect, variable)
    return found
