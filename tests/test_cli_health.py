from __future__ import annotations

import json
from datetime import datetime

from hotline.codes import is_valid_code


def test_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["database"] == "ok"
    assert response.json["redis"] == "ok"


def test_tickets_list_json_has_the_promised_fields(twilio, runner):
    for number in ("0912345678", "anonymous"):
        call = twilio.call(number)
        call.start()
        call.press("1")
        call.press("1")
        call.press("1")  # the procedure menu: VNeID
    result = runner.invoke(args=["tickets", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 2
    for row in rows:
        assert set(row) >= {"code", "phone", "channel", "reason", "topic", "language",
                            "status", "created_at", "transcript"}
        assert is_valid_code(row["code"])
        assert row["channel"] == "voice"
        assert datetime.fromisoformat(row["created_at"]).tzinfo is not None
        assert row["transcript"] is None
    assert {row["phone"] for row in rows} == {"+84912345678", None}

    only_open = json.loads(runner.invoke(args=["tickets", "list", "--json", "--status", "open"]).output)
    assert len(only_open) == 2
    none = json.loads(runner.invoke(args=["tickets", "list", "--json", "--status", "resolved"]).output)
    assert none == []
