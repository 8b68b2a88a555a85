"""Kiosk in real headless Chromium: enrol, rate, idle reset; offline queue replayed exactly once,
also when the server restarts in the middle of the replay."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from kiosk import services
from survey.db.engine import make_engine, make_sessionmaker
from survey.db.models import Response
from tests.conftest import make_unit

pytestmark = pytest.mark.e2e


def _run(coro_fn, url):
    async def go():
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as session:
                return await coro_fn(session)
        finally:
            await engine.dispose()

    # Playwright's sync API owns an event loop in this thread: talk to the database from another one
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def _code(settings, idle_seconds: int) -> str:
    async def arrange(session):
        unit = await make_unit(session)
        new = await services.create_enrolment_code(
            session, settings, actor="test", unit_id=unit.id, counter="Quầy 2", name="Máy tính bảng 1", exit_pin="1357", idle_seconds=idle_seconds
        )
        return new.code

    return _run(arrange, settings.database_url)


def _kiosk_rows(settings) -> list[tuple[str, int]]:
    async def q(session):
        return [(r.client_uuid, r.overall) for r in await session.scalars(select(Response).where(Response.channel == "kiosk"))]

    return _run(q, settings.database_url)


def _count(settings) -> int:
    async def q(session):
        return await session.scalar(select(func.count()).select_from(Response)) or 0

    return _run(q, settings.database_url)


def _enrol(page, live_server, idle_seconds: int):
    code = _code(live_server.settings, idle_seconds)
    page.goto(live_server.url + "/kiosk/enrol")
    page.fill("#code", code)
    page.click("button[type=submit]")
    page.wait_for_url("**/kiosk/")
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector("#screen-start.active")
    # the service worker took control of the kiosk scope (the shell is cached for offline starts)
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")


def _wait(predicate, timeout: float = 30.0, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out waiting")


def _queued_uuids(page) -> list[str]:
    return page.evaluate("window.hailongKiosk.outbox.all().then(items => items.map(i => i.client_uuid))")


def test_enrol_rate_and_reset_after_idle(live_server, page):
    _enrol(page, live_server, idle_seconds=3)
    assert page.locator(".face").count() == 5
    assert page.locator(".face.f5 .face-label").inner_text() == "Rất hài lòng"
    assert page.locator(".face.f1 .face-label").inner_text() == "Rất không hài lòng"
    box = page.locator(".face.f3").bounding_box()
    assert box["width"] >= 64 and box["height"] >= 64
    # rate with the follow-up taps and send
    page.click(".face.f4")
    page.wait_for_selector("#screen-followup.active")
    page.click(".lv[data-item='officer'][data-value='5']")
    page.click("#send")
    page.wait_for_selector("#screen-thanks.active")
    page.wait_for_selector("#screen-start.active", timeout=10_000)
    rows = _wait(lambda: _kiosk_rows(live_server.settings))
    assert [o for _, o in rows] == [4]
    # a citizen who taps a face and walks away: after the idle time the kiosk resets and keeps the rating
    page.click(".face.f2")
    page.wait_for_selector("#screen-followup.active")
    started = time.monotonic()
    page.wait_for_selector("#screen-start.active", timeout=10_000)
    assert time.monotonic() - started >= 2.5
    assert page.locator(".lv[aria-pressed='true']").count() == 0  # nothing of the previous citizen remains
    rows = _wait(lambda: len(_kiosk_rows(live_server.settings)) == 2 and _kiosk_rows(live_server.settings))
    assert sorted(o for _, o in rows) == [2, 4]
    # the exit PIN leaves kiosk mode; a wrong PIN does not
    page.click("#exit")
    for k in "9999":
        page.click(f".pinpad button[data-k='{k}']")
    page.click(".pinpad button[data-k='OK']")
    page.wait_for_selector("#pin-error:not([hidden])")
    for k in "1357":
        page.click(f".pinpad button[data-k='{k}']")
    page.click(".pinpad button[data-k='OK']")
    page.wait_for_selector("#screen-admin.active")


def _rate_offline(page, n: int) -> None:
    for i in range(n):
        page.click(f".face.f{1 + i % 5}")
        page.wait_for_selector("#screen-followup.active")
        page.click("#skip")
        page.wait_for_selector("#screen-thanks.active")
        page.click("#screen-thanks")  # the next citizen taps to start
        page.wait_for_selector("#screen-start.active", timeout=10_000)


def test_offline_queue_replays_exactly_once(live_server, page):
    _enrol(page, live_server, idle_seconds=3)
    page.context.set_offline(True)
    _rate_offline(page, 20)
    queued = _queued_uuids(page)
    assert len(queued) == 20 and len(set(queued)) == 20
    assert _count(live_server.settings) == 0
    # the cached shell still starts while offline
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator(".face").count() == 5
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    rows = _wait(lambda: len(_kiosk_rows(live_server.settings)) >= 20 and _kiosk_rows(live_server.settings), timeout=60)
    time.sleep(1.0)
    rows = _kiosk_rows(live_server.settings)
    assert sorted(u for u, _ in rows) == sorted(queued)
    assert sorted(o for _, o in rows) == sorted([1 + i % 5 for i in range(20)])
    _wait(lambda: _queued_uuids(page) == [])


def test_offline_replay_survives_a_server_restart(live_server, page):
    _enrol(page, live_server, idle_seconds=3)
    page.context.set_offline(True)
    _rate_offline(page, 20)
    queued = _queued_uuids(page)
    assert len(queued) == 20
    page.context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    first = _wait(lambda: (n := _count(live_server.settings)) >= 3 and n, step=0.02)
    live_server.stop()  # mid-replay: the tablet keeps the rest and backs off
    assert first < 20
    time.sleep(1.5)
    live_server.start()
    _wait(lambda: _count(live_server.settings) >= 20, timeout=90)
    _wait(lambda: _queued_uuids(page) == [], timeout=30)
    rows = _kiosk_rows(live_server.settings)
    assert len(rows) == 20 and sorted(u for u, _ in rows) == sorted(queued)
