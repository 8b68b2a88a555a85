"""Arrangement shared by the reliability tests: a database with a unit, a procedure, an API client, an
enrolled kiosk device and a registered receipt, so every API operation can be reached with credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from survey.settings import Settings


@dataclass(frozen=True)
class Seeded:
    api_key: str
    other_api_key: str  # a second client of another unit
    device_credential: str
    receipt_token: str
    dossier_code: str
    unit_code: str

    def headers_for(self, path: str) -> dict[str, str]:
        """The credentials an operation needs: the device's on the kiosk API, the API key elsewhere."""
        if path.startswith("/kiosk/"):
            return {"Authorization": f"Bearer {self.device_credential}"}
        return {"Authorization": f"Bearer {self.api_key}"}


async def seed(session, settings: Settings) -> Seeded:
    from kiosk import services as kiosk
    from survey.receipts import services as receipts
    from survey.receipts.clients import create_api_client
    from tests.conftest import make_procedure, make_unit

    unit = await make_unit(session, code="SNV", name="Sở Nội vụ", kind="department")
    other = await make_unit(session, code="STP", name="Sở Tư pháp", kind="department")
    await make_procedure(session)
    client, key = await create_api_client(session, "Một cửa SNV", unit.id)
    _other_client, other_key = await create_api_client(session, "Một cửa STP", other.id)
    code = await kiosk.create_enrolment_code(
        session, settings, actor="test", unit_id=unit.id, counter="Quầy 1", name="Máy 1", exit_pin="2468", idle_seconds=20
    )
    _device, credential = await kiosk.enrol(session, code.code, settings, "127.0.0.9")
    at = datetime.now(UTC) - timedelta(hours=1)
    item = receipts.ReceiptInput(
        dossier_code=f"000.00.01.H01-{receipts.local_day(settings, at):%y%m%d}-0001", unit_code="SNV", received_at=at, procedure_code="1.001234"
    )
    registered = await receipts.register_receipt(session, item, client, settings)
    return Seeded(key, other_key, credential, registered.token, registered.dossier_code, "SNV")


async def row_counts(session) -> dict[str, int]:
    """Rows in every table (the audit log included): what a refused request must leave unchanged."""
    from survey.db.models import Base

    counts = {}
    for table in Base.metadata.sorted_tables:
        counts[table.name] = await session.scalar(select(func.count()).select_from(table))
    return counts


def start_patiently(server, seconds: float = 180) -> None:
    """Start a conftest ``LiveServer`` allowing ``seconds`` for start-up (the shared 2 cores can be very busy)."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    env = {**os.environ, "HAILONG_DATABASE_URL": server.settings.database_url, "HAILONG_SECRET_KEY": server.settings.secret_key, "HAILONG_PUBLIC_URL": server.url}
    server.proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "survey.asgi:app", "--host", "127.0.0.1", "--port", str(server.port), "--log-level", "warning"], env=env
    )
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(server.url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if server.proc.poll() is not None:
            raise RuntimeError("live server exited during start-up")
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"live server did not start in {seconds} s")
