"""`hotline call`: play a call in the terminal against a running hotline, signed like Twilio.

Staff use it to try a changed flow before publishing it: every prompt is printed,
keys are read from the terminal (or stdin), `s` is silence, `h` hangs up, and at a
beep a WAV path leaves a voice message. Requests are signed with twilio's own
RequestValidator, so the hotline checks them exactly as it checks Twilio.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from twilio.request_validator import RequestValidator

HELP = "keys 0-9 * # (several at once for a code, # ends it), s = silence, h = hang up"


class HotlineUnreachable(Exception):
    """The hotline did not answer, or refused the signature: the message says what to do, in one line."""


class SignedTransport:
    """Posts form requests to the hotline with an X-Twilio-Signature for the public URL."""

    def __init__(self, base_url: str, token: str, public_url: str | None = None,
                 session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.public_url = (public_url or base_url).rstrip("/")
        self.validator = RequestValidator(token)
        self.session = session or requests.Session()

    def post(self, path: str, params: dict[str, str]) -> tuple[int, str]:
        signature = self.validator.compute_signature(urljoin(self.public_url + "/", path.lstrip("/")), params)
        try:
            response = self.session.post(
                urljoin(self.base_url + "/", path.lstrip("/")), data=params,
                headers={"X-Twilio-Signature": signature}, timeout=15,
            )
        except requests.RequestException as error:
            raise HotlineUnreachable(
                f"no hotline answers at {self.base_url} ({error.__class__.__name__}): start it with "
                "`hotline up`, or give its address with --url") from None
        if response.status_code == 403:
            raise HotlineUnreachable(
                f"the hotline at {self.base_url} refused the signature: run `hotline call` with the "
                "same TWILIO_AUTH_TOKEN, HOTLINE_PUBLIC_URL and HOTLINE_DATA_DIR as it "
                f"(signed for {self.public_url})")
        return response.status_code, response.text


class CallSimulator:
    def __init__(self, transport: SignedTransport, from_number: str, *,
                 read: Callable[[str], str | None], write: Callable[[str], None],
                 language_keys: dict[str, dict[str, str]] | None = None, language: str | None = None,
                 deliver: Callable[[Path, str], str] | None = None):
        self.transport = transport
        #: Puts a WAV where the hotline finds the recording (returns the RecordingUrl to send).
        self.deliver = deliver
        self.read = read
        self.write = write
        self.language_keys = language_keys or {}
        self.language = language
        self.params = {
            "CallSid": "CA" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32,
            "From": from_number, "To": "+842633000000", "CallStatus": "in-progress",
            "Direction": "inbound",
        }
        self.steps = 0

    def run(self) -> None:
        document = self._post("/twilio/voice", {})
        while document is not None:
            document = self._play(document)
        self.write("— call ended —")
        self._post_status("completed")

    def _post(self, path: str, extra: dict[str, str]) -> ET.Element | None:
        self.steps += 1
        status, body = self.transport.post(path, {**self.params, **extra})
        if status != 200:
            self.write(f"!! the hotline answered HTTP {status} to {path}")
            return None
        return ET.fromstring(body)

    def _post_status(self, status: str) -> None:
        self.transport.post("/twilio/voice/status", {**self.params, "CallStatus": status,
                                                    "CallDuration": str(self.steps * 10)})

    def _say(self, element: ET.Element) -> None:
        for child in element:
            if child.tag == "Say":
                self.write(f"🔊 {child.text or ''}")
            elif child.tag == "Play":
                self.write(f"🔊 [recording] {child.text or ''}")

    def _ask(self, question: str) -> str | None:
        answer = self.read(question)
        return None if answer is None else answer.strip()

    def _play(self, document: ET.Element) -> ET.Element | None:
        """Speak the document, then answer its first interactive verb; None when the call ends."""
        self._say(document)
        for verb in document:
            if verb.tag == "Gather":
                self._say(verb)
                return self._gather(verb)
            if verb.tag == "Record":
                return self._record(verb)
            if verb.tag == "Dial":
                return self._dial(verb)
            if verb.tag == "Redirect":
                return self._post(verb.text or "", {})
            if verb.tag == "Hangup":
                return None
        return None

    def _auto_language_key(self, action: str) -> str | None:
        node = parse_qs(urlsplit(action).query).get("node", [""])[0]
        if self.language and node in self.language_keys:
            key = self.language_keys[node].get(self.language)
            if key:
                self.language = None  # chosen once
                self.write(f"⌨  {key}   (--lang)")
            return key
        return None

    def _gather(self, gather: ET.Element) -> ET.Element | None:
        action = gather.get("action") or ""
        key = self._auto_language_key(action)
        if key is None:
            answer = self._ask(f"keys? ({HELP}) ")
            if answer is None or answer == "h":
                return None
            key = "" if answer == "s" else typed_digits(answer, gather.get("finishOnKey", "#"),
                                                        gather.get("numDigits"))
        return self._post(action, {"Digits": key} if key else {})

    def _record(self, record: ET.Element) -> ET.Element | None:
        self.write("🔴 beep — recording")
        answer = self._ask("a WAV file to leave as the message, s = say nothing, h = hang up: ")
        if answer is None or answer == "h":
            return None
        extra: dict[str, str] = {}
        if answer and answer != "s":
            path = Path(answer).expanduser().resolve()
            if not path.exists():
                self.write(f"!! no such file: {path}; recording nothing")
            else:
                sid = "RE" + uuid.uuid4().hex
                url = self.deliver(path, sid) if self.deliver else path.as_uri()
                extra = {"RecordingSid": sid, "RecordingUrl": url, "RecordingDuration": str(_duration(path))}
        document = self._post(record.get("action") or "", extra)
        callback = record.get("recordingStatusCallback")
        if extra and callback:
            self.transport.post(callback, {**self.params, **extra, "RecordingStatus": "completed"})
        return document

    def _dial(self, dial: ET.Element) -> ET.Element | None:
        numbers = [child.text or "" for child in dial if child.tag == "Number"]
        self.write(f"📞 ringing {', '.join(numbers)} for {dial.get('timeout', '?')} s")
        answer = self._ask("does the staff member answer? y / n, h = hang up: ")
        if answer is None or answer == "h":
            return None
        status = "completed" if answer.lower().startswith("y") else "no-answer"
        return self._post(dial.get("action") or "", {"DialCallStatus": status})


def typed_digits(answer: str, finish_on_key: str | None, num_digits: str | None) -> str:
    """What Twilio posts for keys typed at a Gather: up to its finishOnKey (which it strips),
    at most numDigits of them."""
    if finish_on_key and finish_on_key in answer:
        answer = answer.split(finish_on_key, 1)[0]
    if num_digits and num_digits.isdigit():
        answer = answer[: int(num_digits)]
    return answer


def _duration(path: Path) -> int:
    try:
        import soundfile

        return max(1, round(soundfile.info(str(path)).duration))
    except Exception:
        return 1


def running_url(data_dir: Path) -> str:
    """The address `hotline up` serves on (it notes it in the data folder), else the default."""
    noted = data_dir / "web_url"
    try:
        return noted.read_text(encoding="utf-8").strip() or DEFAULT_URL
    except OSError:
        return DEFAULT_URL


def local_delivery(data_dir: Path, api_base: str, account_sid: str | None) -> Callable[[Path, str], str]:
    """A WAV given at the beep, delivered as Twilio would: the recording's file is put where the
    transcription worker keeps downloaded recordings (`recordings/<RecordingSid>.wav` in the
    data folder), and the RecordingUrl sent is one on the Twilio API host, so the worker's host
    check is the production one and finds the file already there instead of downloading."""

    def deliver(path: Path, sid: str) -> str:
        import shutil

        target = data_dir / "recordings" / f"{sid}.wav"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        return twilio_recording_url(api_base, account_sid, sid)

    return deliver


def twilio_recording_url(api_base: str, account_sid: str | None, sid: str) -> str:
    """A RecordingUrl as Twilio sends it (on its API host), for a recording delivered locally."""
    account = account_sid or "AC" + "0" * 32
    return f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account}/Recordings/{sid}"


DEFAULT_URL = "http://127.0.0.1:5000"


def language_keys(flow: Any) -> dict[str, dict[str, str]]:
    """For each language menu, which key picks which language (for --lang)."""
    keys: dict[str, dict[str, str]] = {}
    for node_id, node in flow.nodes.items():
        if node["type"] == "menu":
            for key, option in node["options"].items():
                if "language" in option:
                    keys.setdefault(node_id, {})[option["language"]] = str(key)
    return keys
