"""Play Twilio: sign webhook requests with RequestValidator and follow TwiML."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from urllib.parse import urljoin, urlsplit

from twilio.request_validator import RequestValidator


def sign(token: str, url: str, params: dict[str, str]) -> str:
    return RequestValidator(token).compute_signature(url, params)


class TwilioSim:
    def __init__(self, client, token: str, public_url: str):
        self.client = client
        self.token = token
        self.public_url = public_url.rstrip("/")

    def post(self, path: str, params: dict[str, str], *, signature: str | None = None):
        url = urljoin(self.public_url + "/", path.lstrip("/"))
        if signature is None:
            signature = sign(self.token, url, params)
        split = urlsplit(url)
        local = split.path + (f"?{split.query}" if split.query else "")
        return self.client.post(local, data=params, headers={"X-Twilio-Signature": signature})

    def call(self, from_number: str = "+84912345678", **extra) -> Call:
        return Call(self, from_number, extra)


class Call:
    """One simulated call: follows Gather actions and Redirects like Twilio does."""

    def __init__(self, sim: TwilioSim, from_number: str, extra: dict[str, str]):
        self.sim = sim
        self.sid = "CA" + uuid.uuid4().hex
        self.params = {
            "CallSid": self.sid,
            "AccountSid": "AC" + "0" * 32,
            "From": from_number,
            "To": "+842633000000",
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **extra,
        }
        self.twiml: ET.Element | None = None
        self.last_response = None
        self.history: list[ET.Element] = []

    def _post(self, path: str, params: dict[str, str]) -> ET.Element:
        response = self.sim.post(path, params)
        assert response.status_code == 200, response.data
        assert response.mimetype == "text/xml"
        self.last_response = response
        self.twiml = ET.fromstring(response.data)
        self.history.append(self.twiml)
        return self.twiml

    def start(self) -> ET.Element:
        return self._post("/twilio/voice", self.params)

    def gather(self) -> ET.Element | None:
        return self.twiml.find("Gather") if self.twiml is not None else None

    def press(self, digits: str | None) -> ET.Element:
        """Answer the current Gather; None is silence (Twilio posts with no Digits)."""
        gather = self.gather()
        assert gather is not None, "the call is not waiting for a key"
        params = dict(self.params)
        if digits is not None:
            params["Digits"] = digits
        return self._post(gather.get("action"), params)

    def post_to(self, path: str, **extra: str) -> ET.Element:
        """Post to an action URL with extra parameters (e.g. DialCallStatus after a Dial)."""
        return self._post(path, dict(self.params, **extra))

    def said(self) -> str:
        return " ".join(el.text or "" for el in self.twiml.iter("Say"))

    def hung_up(self) -> bool:
        return self.twiml is not None and self.twiml.find("Hangup") is not None

    def status(self, status: str = "completed", duration: int = 42):
        params = dict(self.params, CallStatus=status, CallDuration=str(duration))
        return self.sim.post("/twilio/voice/status", params)
