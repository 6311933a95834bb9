"""A local HTTP server that answers like Twilio's REST API (api.twilio.com is unreachable here).

It implements what the hotline calls, in the shapes Twilio documents:
`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (201 with a Message
resource) with HTTP Basic auth of AccountSid and auth token, and
`POST /2010-04-01/Accounts/{AccountSid}/Calls.json` (201 with a Call resource;
needs To, From and one of Url/Twiml/ApplicationSid). Tests may queue failures
(`fail_next(500)`) and read what was sent (`messages`, `calls`).

Recording media (`GET …/Recordings/{RecordingSid}.wav`) is served with `serve`;
`fail_path(path, 404, times=2)` answers a path's first requests with an error,
as Twilio does (404) for a few seconds while it stores a new recording.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from tests.fake_http import LocalFakeAPI

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Messages\.json$")
CALLS_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC\w+)/Calls\.json$")


class FakeTwilioAPI(LocalFakeAPI):
    def __init__(self, account_sid: str, auth_token: str):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, str]] = []
        self.calls: list[dict[str, str]] = []
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        self.path_failures: dict[str, list[int]] = {}
        self.requests: list[tuple[str, str]] = []
        super().__init__()

    @property
    def base_url(self) -> str:
        return self.server_url

    def serve(self, path: str, body: bytes, content_type: str = "audio/x-wav", status: int = 200):
        """Serve a static resource (e.g. a recording's media) at `path`."""
        self.routes[path] = (status, content_type, body)

    def fail_path(self, path: str, status: int, times: int = 1) -> None:
        """Answer the next `times` GETs of `path` with `status` (before serving it)."""
        self.path_failures.setdefault(path, []).extend([status] * times)

    def _authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return header == f"Basic {expected}"

    def _handler(self):
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _json(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _common(self) -> bool:
                api.requests.append((self.command, self.path))
                if not api._authorised(self.headers.get("Authorization")):
                    self._json(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return False
                if api.failures:
                    status = api.failures.pop(0)
                    self._json(status, {"code": 20500, "message": "Internal Server Error",
                                        "status": status})
                    return False
                return True

            def do_GET(self):
                if not self._common():
                    return
                path = self.path.split("?")[0]
                if api.path_failures.get(path):
                    status = api.path_failures[path].pop(0)
                    self._json(status, {"code": 20404, "message": "The requested resource was not found",
                                        "status": status})
                    return
                if path not in api.routes:
                    self._json(404, {"code": 20404, "message": "The requested resource was not found",
                                     "status": 404})
                    return
                status, content_type, body = api.routes[path]
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                if not self._common():
                    return
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                calls = CALLS_PATH.match(self.path)
                if calls:
                    self._create_call(calls["sid"], form)
                    return
                match = MESSAGES_PATH.match(self.path)
                if not match:
                    self._json(404, {"code": 20404, "message": "not found", "status": 404})
                    return
                if not form.get("To") or not form.get("Body"):
                    self._json(400, {"code": 21604, "message": "A 'To' phone number is required.",
                                     "status": 400})
                    return
                sid = "SM" + uuid.uuid4().hex
                api.messages.append({**form, "sid": sid})
                self._json(201, {
                    "sid": sid, "account_sid": match["sid"], "to": form["To"],
                    "from": form.get("From"), "body": form["Body"], "status": "queued",
                    "num_segments": "1", "direction": "outbound-api",
                    "uri": f"/2010-04-01/Accounts/{match['sid']}/Messages/{sid}.json",
                })

            def _create_call(self, account_sid: str, form: dict[str, str]) -> None:
                if not form.get("To") or not form.get("From"):
                    self._json(400, {"code": 21201, "message": "No 'To' number is specified",
                                     "status": 400})
                    return
                if not (form.get("Url") or form.get("Twiml") or form.get("ApplicationSid")):
                    self._json(400, {"code": 21205, "message": "Url parameter is required.",
                                     "status": 400})
                    return
                sid = "CA" + uuid.uuid4().hex
                api.calls.append({**form, "sid": sid})
                self._json(201, {
                    "sid": sid, "account_sid": account_sid, "to": form["To"], "from": form["From"],
                    "status": "queued", "direction": "outbound-api",
                    "uri": f"/2010-04-01/Accounts/{account_sid}/Calls/{sid}.json",
                })

        return Handler
