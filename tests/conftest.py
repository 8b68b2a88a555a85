"""Shared fixtures. The environment is set before any project import.

``HAILONG_TEST_DATABASE`` chooses the backend: ``sqlite`` (default) or a PostgreSQL async URL.
On SQLite each test gets a copy of a database migrated once; on PostgreSQL the schema is migrated
once and every table is emptied between tests.  Under CI (``CI`` set) nothing is skipped: a test that
needs PostgreSQL or Chromium fails when they are missing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("HAILONG_SECRET_KEY", "test-secret-" + "0" * 52)
os.environ.setdefault("LITESTAR_WARN_SYNC_TO_THREAD_WITH_ASYNC", "0")

import httpx  # noqa: E402
import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402

from survey.db.engine import make_engine, make_sessionmaker  # noqa: E402
from survey.db.migrate import upgrade  # noqa: E402
from survey.settings import Settings  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
REFERENCE_DIR = Path(os.environ.get("HAILONG_REFERENCE_DIR", REPO_ROOT.parent / "shared" / "reference"))
IN_CI = bool(os.environ.get("CI"))
TEST_DATABASE = os.environ.get("HAILONG_TEST_DATABASE", "sqlite")
CHROMIUM = os.environ.get("HAILONG_CHROMIUM", "/usr/bin/chromium")


def run_coroutine(coro):
    """Run ``coro`` to completion in a fresh thread with its own event loop.

    Works whether or not an event loop is already running in this thread (Playwright's sync API runs one).
    """
    import threading

    errors: list[BaseException] = []
    results: list = []

    def target() -> None:
        try:
            results.append(asyncio.run(coro))
        except BaseException as exc:  # re-raised below, in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]


def run_db(url: str, fn):
    """``await fn(session)`` on the database at ``url``, from synchronous (Playwright) test code."""

    async def main():
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await fn(session)
        finally:
            await engine.dispose()

    return run_coroutine(main())


def require(condition: bool, reason: str) -> None:
    """Skip locally when a real part is missing; fail under CI, where nothing may skip."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def is_postgres() -> bool:
    return TEST_DATABASE.startswith("postgresql")


# --------------------------------------------------------------------------- database


@pytest.fixture(scope="session")
def _migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database at the latest migration: a template file on SQLite, the test schema on PostgreSQL."""
    if is_postgres():
        engine = make_engine(TEST_DATABASE, pool_size=1, max_overflow=0)

        async def reset() -> None:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()

        run_coroutine(reset())
        upgrade(TEST_DATABASE)
        return TEST_DATABASE
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return str(path)


def _truncate_all(url: str) -> None:
    from survey.db.models import Base

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    engine = make_engine(url, pool_size=1, max_overflow=0)

    async def run() -> None:
        async with engine.begin() as conn:
            rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'"))
            names = ", ".join(f'"{r[0]}"' for r in rows) or tables
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        await engine.dispose()

    run_coroutine(run())


@pytest.fixture
def database_url(_migrated_template: str, tmp_path: Path) -> str:
    """A migrated, empty database for this test."""
    if is_postgres():
        _truncate_all(_migrated_template)
        return _migrated_template
    path = tmp_path / "hailong.sqlite3"
    shutil.copy(_migrated_template, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return replace(Settings(), database_url=database_url, secret_key=os.environ["HAILONG_SECRET_KEY"], public_url="http://testserver.local")


@pytest.fixture
def app(settings: Settings):
    from survey.app import create_app

    return create_app(settings)


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client driving the ASGI app in-process (lifespan included)."""
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app, base_url="http://testserver.local") as c:
        yield c


@pytest.fixture
async def db(settings: Settings):
    """A session on the test database, for arranging data and checking what was stored."""
    engine = make_engine(settings.database_url)
    maker = make_sessionmaker(engine)
    async with maker() as session:
        yield session
    await engine.dispose()


# --------------------------------------------------------------------------- domain factories


async def make_unit(session, code: str = "SNV", name: str = "Sở Nội vụ", kind: str = "department", parent_id: int | None = None):
    from survey.db.models import Unit

    unit = Unit(code=code, name=name, kind=kind, parent_id=parent_id)
    session.add(unit)
    await session.commit()
    return unit


async def make_procedure(session, code: str = "1.001234", name: str = "Cấp bản sao trích lục hộ tịch", field: str = "Hộ tịch", days: int = 3):
    from survey.db.models import Procedure

    proc = Procedure(code=code, name=name, field=field, processing_days=days)
    session.add(proc)
    await session.commit()
    return proc


async def make_receipt(session, unit, procedure=None, dossier_code: str = "000.00.01.H01-261122-0001", *, expires_in_days: int = 60, channel: str = "direct"):
    from survey.db.models import Receipt

    now = datetime.now(UTC)
    receipt = Receipt(
        dossier_code=dossier_code,
        unit_id=unit.id,
        procedure_id=procedure.id if procedure else None,
        received_at=now - timedelta(hours=1),
        appointment_at=now + timedelta(days=3),
        channel=channel,
        token_expires_at=now + timedelta(days=expires_in_days),
    )
    session.add(receipt)
    await session.commit()
    return receipt


# --------------------------------------------------------------------------- live server and browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The real app under uvicorn in a child process (so it can be stopped and restarted mid-test)."""

    def __init__(self, settings: Settings, port: int):
        self.settings = settings
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "HAILONG_DATABASE_URL": self.settings.database_url, "HAILONG_SECRET_KEY": self.settings.secret_key, "HAILONG_PUBLIC_URL": self.url}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "survey.asgi:app", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=env,
        )
        deadline = time.monotonic() + 90  # generous: CI machines can be loaded
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError("live server exited during start-up")
            time.sleep(0.1)
        raise RuntimeError("live server did not start in 90 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    port = free_port()
    server = LiveServer(replace(settings, public_url=f"http://127.0.0.1:{port}"), port)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _playwright():
    require(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(_playwright):
    """Debian's headless Chromium driven by Playwright (browser downloads are blocked here)."""
    b = _playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    )
    yield b
    b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="vi-VN")
    pg = context.new_page()
    yield pg
    context.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: once Playwright's sync API has started (session-scoped), its event loop is
    running in the main thread and pytest-asyncio can no longer run async fixtures or tests.

    Tests marked ``sqlite_only`` test SQLite's own machinery (group commit on the writer thread): the
    PostgreSQL pass deselects them (it has no such code path), so nothing is reported as skipped."""
    if is_postgres():
        kept = [item for item in items if item.get_closest_marker("sqlite_only") is None]
        if len(kept) != len(items):
            config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("sqlite_only") is not None])
            items[:] = kept
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path).replace("\\", "/"))
