"""A local HTTP server that answers like SMS Gateway for Android's API (its cloud is unreachable here).

It implements what the hotline calls, in the shapes the gateway documents
(docs.sms-gate.app, "Sending Messages" and the API reference):
`POST /3rdparty/v1/messages` with HTTP Basic auth and a JSON body
(`textMessage.text`, `phoneNumbers`, optional `id`), answered `202 Accepted`
with a message state (`id`, `state: "Pending"`, `recipients`,
`isHashed`, `isEncrypted`); `GET /3rdparty/v1/messages/{id}` gives the state.
An id already used is refused with 409 (we assume the server refuses a
duplicate id; the hotline treats 409 as "already accepted"). Tests may queue
failures (`fail_next(503)`) and read what was sent (`messages`).
"""

from __future__ import annotations

import base64
import json
import uuid
from http.server import BaseHTTPRequestHandler

from tests.fake_http import LocalFakeAPI

PREFIX = "/3rdparty/v1"


class FakeSmsGatewayAPI(LocalFakeAPI):
    def __init__(self, login: str, password: str):
        self.login = login
        self.password = password
        self.messages: list[dict] = []
        self.states: dict[str, dict] = {}
        super().__init__()

    @property
    def base_url(self) -> str:
        return f"{self.server_url}{PREFIX}"

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _common(self) -> bool:
                expected = base64.b64encode(f"{api.login}:{api.password}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}":
                    self._json(401, {"message": "Unauthorized"})
                    return False
                if api.failures:
                    self._json(api.failures.pop(0), {"message": "Service Unavailable"})
                    return False
                return True

            def do_GET(self):
                if not self._common():
                    return
                msg_id = self.path.removeprefix(f"{PREFIX}/messages/")
                if msg_id in api.states:
                    self._json(200, api.states[msg_id])
                else:
                    self._json(404, {"message": "message not found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                if not self._common():
                    return
                if self.path.split("?")[0] != f"{PREFIX}/messages":
                    self._json(404, {"message": "Not Found"})
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._json(400, {"message": "invalid JSON"})
                    return
                text = (body.get("textMessage") or {}).get("text") or body.get("message")
                numbers = body.get("phoneNumbers") or []
                if not text or not numbers:
                    self._json(400, {"message": "textMessage and phoneNumbers are required"})
                    return
                msg_id = body.get("id") or uuid.uuid4().hex[:21]
                if msg_id in api.states:
                    self._json(409, {"message": "message with such id already exists"})
                    return
                api.messages.append(body)
                state = {
                    "id": msg_id, "state": "Pending", "isHashed": False, "isEncrypted": False,
                    "recipients": [{"phoneNumber": n, "state": "Pending"} for n in numbers],
                    "states": {},
                }
                api.states[msg_id] = state
                self._json(202, state)

        return Handler
