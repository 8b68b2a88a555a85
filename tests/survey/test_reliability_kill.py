"""kill -9 under write load: every receipt and response the server acknowledged is in the database
after a restart, on SQLite and on PostgreSQL (whichever this pass of `make test` uses), three times.

`make reliability` runs more rounds with longer load (HAILONG_RELIABILITY=long).
"""

from __future__ import annotations

from tests.survey.reliability import KILL_ROUNDS, LOAD_SECONDS, AppProcess, Writer, arrange_api_client, stored


def test_acknowledged_writes_survive_kill_9(settings):
    unit_code, key = arrange_api_client(settings)
    server = AppProcess(settings).start()
    all_codes: set[str] = set()
    all_ids: set[str] = set()
    try:
        for round_no in range(1, KILL_ROUNDS + 1):
            writer = Writer(server.url, key, unit_code, prefix=f"000.00.{round_no:02d}.H01-261122").start()
            writer.run_for(LOAD_SECONDS)
            server.kill9()  # mid-write: requests in flight are cut off, unacknowledged ones may or may not be stored
            writer.stop()
            assert writer.acked_responses, f"round {round_no}: no response was acknowledged before the kill"
            assert not writer.server_errors, writer.server_errors
            all_codes |= {code for _t, code in writer.acked_receipts}
            all_ids |= {rid for _t, rid in writer.acked_responses}
            server = AppProcess(settings).start()  # restart on the same database
            codes, ids = stored(settings.database_url)
            assert all_codes <= codes, f"round {round_no}: acknowledged receipts lost: {sorted(all_codes - codes)[:5]}"
            assert all_ids <= ids, f"round {round_no}: acknowledged responses lost: {sorted(all_ids - ids)[:5]}"
    finally:
        server.stop()
