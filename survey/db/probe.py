"""``python -m survey.db.probe URL``: exit 0 when the database answers, 1 otherwise (used by `make test`)."""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import text

from survey.db.engine import make_engine


async def _probe(url: str) -> bool:
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False
    finally:
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(_probe(sys.argv[1])) else 1)
