"""Shared arrangement for the kiosk tests: a unit, an enrolment code, an enrolled device, an admin session."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from kiosk import services

HTML = {"accept": "text/html"}
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')
ADMIN_PASSWORD = "kiosk admin password"


@dataclass
class Device:
    id: int
    credential: str
    config: dict
    unit_id: int

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.credential}"}


async def new_code(db, settings, unit_id: int, counter: str = "Quầy 1", idle_seconds: int = 20, pin: str = "2468") -> str:
    code = await services.create_enrolment_code(
        db, settings, actor="test", unit_id=unit_id, counter=counter, name=f"Máy {counter}", exit_pin=pin, idle_seconds=idle_seconds
    )
    return code.code


async def enrol_device(client, db, settings, unit_id: int, counter: str = "Quầy 1", idle_seconds: int = 20) -> Device:
    code = await new_code(db, settings, unit_id, counter, idle_seconds)
    r = await client.post("/kiosk/api/enrol", json={"code": code})
    assert r.status_code == 201, r.text
    data = r.json()
    return Device(data["config"]["device_id"], data["credential"], data["config"], unit_id)


def answer(overall: int = 4, answers: dict | None = None, when: datetime | None = None, **extra) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "device_time": (when or datetime.now(UTC)).isoformat(),
        "questionnaire_id": "kiosk",
        "questionnaire_version": 1,
        "overall": overall,
        "answers": answers or {},
        **extra,
    }


async def sign_in_admin(client, db, username: str = "noivu") -> None:
    from survey.admin import users

    await users.create_user(db, username, ADMIN_PASSWORD, "admin", actor="test")
    token = await csrf_token(client, "/admin/login")
    r = await client.post("/admin/login", data={"_csrf_token": token, "username": username, "password": ADMIN_PASSWORD}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303, r.text


async def csrf_token(client, path: str) -> str:
    r = await client.get(path, headers=HTML, follow_redirects=False)
    m = CSRF_RE.search(r.text)
    assert m, f"no CSRF field on {path} ({r.status_code})"
    return m.group(1)


async def post_form(client, path: str, form: dict, token_page: str = "/admin/kiosk/"):
    token = await csrf_token(client, token_page)
    return await client.post(path, data={"_csrf_token": token, **form}, headers=HTML, follow_redirects=False)
