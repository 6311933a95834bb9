"""A seeded fuzz of every webhook with signed inputs, on SQLite and PostgreSQL.

Ten thousand requests per database (HOTLINE_FUZZ_COUNT), from one seed
(HOTLINE_FUZZ_SEED): valid ids, re-split replays (Twilio signs names and values
with no separator, so merging a parameter into the one before it keeps the
signature), exact replays, digit strings past 2^63, over-length strings, NUL and
other control characters, unicode, missing fields, odd step arguments, bad JSON,
forged signatures. What must hold:

- no answer is a 5xx; a signed request is never refused (403) and a forged one always is;
- every SMS answered 2xx is stored, each real message once: the rows in
  `sms_messages` are exactly the distinct messages accepted (a re-split or a
  replay of a message is that message);
- nothing that failed validation became a key (calls, voice messages, SMS dedup keys).

Run alone: `pytest tests/test_fuzz_webhooks.py -s` prints the answers per webhook and the time.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import time
from collections import Counter
from urllib.parse import urlencode

from sqlalchemy import event, select

from hotline.extensions import db
from hotline.models import Call, SmsMessage, VoiceMessage
from hotline.sms.gateway_auth import sign as gateway_sign
from tests.conftest import PUBLIC_URL, TEST_AUTH_TOKEN
from tests.twilio_sim import TwilioSim, sign

SEED = int(os.environ.get("HOTLINE_FUZZ_SEED", "20261127"))
COUNT = int(os.environ.get("HOTLINE_FUZZ_COUNT", "10000"))

ACCOUNT = "AC" + "0" * 32
HOTLINE = "+842633000000"
TWILIO_KEY = re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}|signed-[0-9a-f]{64}")
CALL_KEY = re.compile(r"CA[0-9a-fA-F]{32}")
RECORDING_KEY = re.compile(r"RE[0-9a-fA-F]{32}")

#: Values no webhook field should break on. None of them holds a valid Twilio id, so a
#: message whose ids are all replaced by these has no id anywhere (its key is its content).
JUNK = (
    "9" * 19, "9" * 20, "9" * 40, "9" * 1000, "9" * 4500, str(2**63), str(2**64 + 1), "-1", "1e9", "0x10",
    " 42", "42 ", "²", "١٢٣", "１２３", "٣٠", "\x00", "abc\x00def", "\x01\x02\x1b[31m", "\x7f", "\x85",
    "a\r\nb",
    "\t", "x" * 65, "x" * 81, "y" * 257, "z" * 2000, "w" * 6000, "é" * 3000, "📞" * 500, "", " ", "null",
    "[]", "{}", "Tiếng Việt có dấu", "\u202e\u200b", "' OR 1=1 --", "<Say>x</Say>", "%00", "&amp;",
    "SMforged", "CAforged", "REforged", "SM" + "0" * 31, "CA" + "g" * 32, "RE" + "1" * 31 + "\x00",
    "SM" + "x" * 100, "SM" + "0" * 16 + "\x00" + "0" * 16, "+8491234567\x00", "0912 345 678" * 20,
    "anonymous", "+266696687",
)
DIGITS = ("1", "2", "0", "9", "*", "#", "123", "209745", "", None)


class Fuzz:
    def __init__(self, app, rng: random.Random):
        self.app = app
        self.client = app.test_client()
        self.sim = TwilioSim(self.client, TEST_AUTH_TOKEN, PUBLIC_URL)
        self.rng = rng
        self.nodes = sorted(app.extensions["hotline.flow"].nodes)
        self.answers: Counter = Counter()
        self.failures: list[str] = []
        self.calls: list[dict] = []  # params of calls started, to continue
        self.voice_posts: list[tuple[str, dict]] = []  # (path, params) posted, to replay or re-split
        self.sms_posts: list[tuple[dict, object]] = []  # (params, family) of Twilio SMS
        self.gateway_posts: list[tuple[bytes, object]] = []
        self.sms_families: set = set()
        self.gateway_families: set = set()
        self.serial = 0

    # --- values ---------------------------------------------------------------------

    def hex32(self) -> str:
        return f"{self.rng.getrandbits(128):032x}"

    def junk(self) -> str:
        return self.rng.choice(JUNK)

    def phone(self) -> str:
        if self.rng.random() < 0.8:
            return f"+8491{self.rng.randrange(10**7):07d}"
        return self.junk()

    def mutate(self, params: dict, fields: tuple[str, ...], most: int = 3) -> dict:
        params = dict(params)
        for _ in range(self.rng.randint(0, most)):
            roll = self.rng.random()
            name = self.rng.choice(fields) if roll < 0.85 else self.rng.choice(("Extra", "ZZ", "a", "Caller"))
            if self.rng.random() < 0.15:
                params.pop(name, None)
            else:
                params[name] = self.junk()
        return params

    def resplit(self, params: dict, times: int | None = None, target: str | None = None) -> dict:
        """Merge a parameter into the one before it (sorted by name): the signature stays valid."""
        items = sorted(params.items())
        for _ in range(times or self.rng.randint(1, 3)):
            if len(items) < 2:
                break
            names = [name for name, _ in items]
            if target in names and self.rng.random() < 0.6:
                index = names.index(target) + self.rng.choice((0, 1))  # the id absorbs, or is absorbed
                index = min(max(index, 1), len(items) - 1)
            else:
                index = self.rng.randrange(1, len(items))
            (before, value), (name, merged) = items[index - 1], items[index]
            items[index - 1] = (before, value + name + merged)
            del items[index]
        result = dict(items)
        url = PUBLIC_URL + "/x"
        assert sign(TEST_AUTH_TOKEN, url, result) == sign(TEST_AUTH_TOKEN, url, params)
        return result

    # --- posting --------------------------------------------------------------------

    def record(self, endpoint: str, response, *, signed: bool = True) -> int:
        status = response.status_code
        self.answers[(endpoint, status)] += 1
        if status >= 500:
            self.failures.append(f"{endpoint}: {status}")
        elif signed and status == 403:
            self.failures.append(f"{endpoint}: a signed request was refused")
        elif not signed and status != 403:
            self.failures.append(f"{endpoint}: a forged request got {status}")
        return status

    def twilio(self, endpoint: str, path: str, params: dict) -> int:
        forged = self.rng.random() < 0.03
        signature = base64.b64encode(self.rng.randbytes(20)).decode() if forged else None
        return self.record(endpoint, self.sim.post(path, params, signature=signature), signed=not forged)

    # --- voice ----------------------------------------------------------------------

    def new_call(self) -> dict:
        return {"CallSid": "CA" + self.hex32(), "AccountSid": ACCOUNT, "From": self.phone(), "To": HOTLINE,
                "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01",
                "FromCity": "DA LAT", "ToCountry": "VN"}

    def voice_incoming(self) -> None:
        roll = self.rng.random()
        if roll < 0.15 and self.voice_posts:
            path, params = self.rng.choice(self.voice_posts)
            params = self.resplit(params, target="CallSid") if self.rng.random() < 0.7 else params
        else:
            path = "/twilio/voice"
            params = self.mutate(self.new_call(), ("From", "To", "CallStatus", "FromCity"))
            if roll > 0.9:
                params["CallSid"] = self.junk()
            else:
                self.calls.append(params)
        self.voice_posts.append((path, params))
        self.twilio("voice", path, params)

    def voice_step(self) -> None:
        if not self.calls or self.rng.random() < 0.05:
            self.calls.append(self.new_call())
        call = self.rng.choice(self.calls[-50:])
        args = {"node": self.rng.choice(self.nodes), "n": str(self.rng.randint(1, 12)), "attempt": "1"}
        for name in ("node", "n", "attempt"):
            if self.rng.random() < 0.12:
                args[name] = self.junk()
            elif self.rng.random() < 0.03:
                del args[name]
        params = dict(call, CallStatus="in-progress")
        digits = self.rng.choice(DIGITS)
        if digits is not None:
            params["Digits"] = digits
        if self.rng.random() < 0.15:
            params.update(RecordingSid="RE" + self.hex32(), RecordingDuration=str(self.rng.randint(1, 120)),
                          RecordingUrl="https://api.twilio.com/r/" + self.hex32())
        if self.rng.random() < 0.1:
            params["DialCallStatus"] = self.rng.choice(("completed", "no-answer", "busy", "failed"))
        params = self.mutate(params, ("Digits", "RecordingSid", "RecordingDuration", "RecordingUrl",
                                      "DialCallStatus", "From", "To", "CallSid", "SpeechResult"), most=2)
        path = "/twilio/voice/step?" + urlencode(args)
        if self.rng.random() < 0.1:
            params = self.resplit(params, target=self.rng.choice(("CallSid", "RecordingSid", "Digits")))
        self.voice_posts.append((path, params))
        self.twilio("step", path, params)

    def voice_status(self) -> None:
        call = self.rng.choice(self.calls) if self.calls and self.rng.random() < 0.8 else self.new_call()
        status = self.rng.choice(("completed", "busy", "no-answer", "failed", "canceled", "in-progress"))
        params = dict(call, CallStatus=status, CallDuration=str(self.rng.randint(0, 600)))
        params = self.mutate(params, ("CallStatus", "CallDuration", "CallSid", "From", "To"))
        if self.rng.random() < 0.1:
            params = self.resplit(params, target="CallSid")
        self.twilio("status", "/twilio/voice/status", params)

    def recording(self) -> None:
        call = self.rng.choice(self.calls) if self.calls and self.rng.random() < 0.8 else self.new_call()
        params = {"AccountSid": ACCOUNT, "CallSid": call["CallSid"], "RecordingSid": "RE" + self.hex32(),
                  "RecordingUrl": "https://api.twilio.com/2010-04-01/Recordings/x",
                  "RecordingStatus": self.rng.choice(("completed", "completed", "failed", "absent")),
                  "RecordingDuration": str(self.rng.randint(1, 300)), "RecordingChannels": "1",
                  "RecordingSource": "RecordVerb"}
        params = self.mutate(params, ("RecordingSid", "RecordingDuration", "RecordingStatus", "RecordingUrl",
                                      "CallSid", "ErrorCode", "From"))
        if self.rng.random() < 0.15:
            params = self.resplit(params, target="RecordingSid")
        self.twilio("recording", "/twilio/recording", params)

    def fallback(self) -> None:
        params = dict(self.new_call(), ErrorCode="11200", ErrorUrl=PUBLIC_URL + "/twilio/voice")
        params = self.mutate(params, ("ErrorCode", "From", "CallSid"))
        self.twilio("fallback", "/twilio/voice/fallback", params)

    # --- SMS ------------------------------------------------------------------------

    def new_sms(self) -> tuple[dict, object]:
        sid = "SM" + self.hex32()
        self.serial += 1
        params = {"MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT,
                  "From": self.phone(), "To": HOTLINE, "Body": f"m{self.serial} " + self.rng.choice(
                      ("GIUP", "lam cccd", "tra cuu 123459", "HUY 123459", "gio lam viec", "cam on", "")),
                  "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        return params, sid

    def twilio_sms(self) -> None:
        roll = self.rng.random()
        if roll < 0.25 and self.sms_posts:  # a replay or a re-split of a message sent before
            params, family = self.rng.choice(self.sms_posts)
            if self.rng.random() < 0.7:
                params = self.resplit(params, target=self.rng.choice(("MessageSid", "SmsSid", "Body")))
        else:
            params, family = self.new_sms()
            params = self.mutate(params, ("From", "To", "Body", "NumMedia", "NumSegments", "AccountSid",
                                          "SmsStatus", "FromCity"))
            if roll > 0.85:  # ids broken: the message has no id anywhere; its key is its content
                for name in ("MessageSid", "SmsMessageSid", "SmsSid"):
                    if self.rng.random() < 0.3:
                        params.pop(name)
                    else:
                        params[name] = self.junk()
                family = ("no id", tuple(sorted(params.items())))
            elif roll > 0.75:  # MessageSid broken, the others still carry the id
                params["MessageSid"] = self.junk()
        self.sms_posts.append((params, family))
        if self.twilio("sms", "/twilio/sms", params) in (200, 204):
            self.sms_families.add(family)

    def sms_status(self) -> None:
        sid = self.rng.choice(self.sms_posts)[0].get("MessageSid", "") if self.sms_posts else ""
        params = {"MessageSid": sid, "MessageStatus": self.rng.choice(("delivered", "failed", "sent")),
                  "AccountSid": ACCOUNT, "To": self.phone()}
        self.twilio("sms-status", "/twilio/sms/status", self.mutate(params, ("MessageSid", "MessageStatus")))

    # --- SMS Gateway for Android ----------------------------------------------------

    def gateway_post(self, raw: bytes, *, forged: bool = False) -> int:
        key = self.app.config["SMS_GATEWAY_SIGNING_KEY"]
        timestamp = str(int(time.time()))
        signature = gateway_sign(key, raw, timestamp)
        if forged:
            choice = self.rng.randrange(4)
            if choice == 0:
                timestamp = self.rng.choice(("١٢٣", "²", "9" * 40, "", "-5", timestamp + "\x85"))
            elif choice == 1:
                signature = self.rng.choice(("0" * 64, "é" * 64, "", signature[:-1]))
            elif choice == 2:
                signature = gateway_sign("another key", raw, timestamp)
            else:
                timestamp = str(int(time.time()) - 3600)
                signature = gateway_sign(key, raw, timestamp)
        headers = {"X-Timestamp": timestamp, "X-Signature": signature, "Content-Type": "application/json"}
        response = self.client.post("/sms-gateway/webhook", data=raw, headers=headers)
        return self.record("gateway", response, signed=not forged)

    def gateway(self) -> None:
        roll = self.rng.random()
        if roll < 0.04:
            raw = json.dumps({"event": "sms:received", "payload": {"message": "x"}}).encode()
            self.gateway_post(raw, forged=True)
            return
        if roll < 0.12:  # not an SMS: bad JSON, deep JSON, other events, delivery reports
            report = {"event": self.rng.choice(("sms:sent", "sms:delivered", "sms:failed")),
                      "payload": {"messageId": self.rng.choice(("hl-" + self.hex32()[:29], self.junk(), 5))}}
            raw = self.rng.choice((
                b"not json", b"[" * 30000 + b"]" * 30000, b'{"event": "sms:received", "payload": 5}',
                b"\xff\xfe", json.dumps({"event": "system:ping", "payload": {}}).encode(),
                json.dumps({"event": self.junk(), "payload": {"messageId": self.junk()}}).encode(),
                json.dumps(report).encode(),
            ))
            self.gateway_post(raw)
            return
        if roll < 0.3 and self.gateway_posts:  # the gateway retries a message
            raw, family = self.rng.choice(self.gateway_posts)
        else:
            self.serial += 1
            minute, second = self.serial // 60 % 60, self.serial % 60
            unique_time = f"2026-11-26T11:{minute:02d}:{second:02d}.{self.serial:06d}+07:00"
            payload = {"messageId": f"{self.rng.getrandbits(32):x}", "message": f"g{self.serial} lam cccd",
                       "phoneNumber": self.phone(), "simNumber": 1, "receivedAt": unique_time}
            # Broken fields, but the message text or the time keeps the message distinct.
            broken = self.rng.sample(("messageId", "phoneNumber", "simNumber", "message", "receivedAt"),
                                     self.rng.randint(0, 2))
            if "message" in broken and "receivedAt" in broken:
                broken.remove("receivedAt")
            for name in broken:
                choice = self.rng.random()
                if choice < 0.2:
                    payload.pop(name)
                elif choice < 0.35:
                    payload[name] = self.rng.choice((None, 12345, 2**80, [1, "a"], {"x": "\ud800"}, True))
                elif name == "message" or choice < 0.7:
                    payload[name] = self.junk() + ("\ud800" if self.rng.random() < 0.2 else "")
                else:
                    payload[name] = str(payload[name]) + "\x00" + self.junk()
            event = {"event": "sms:received", "payload": payload, "deviceId": "d", "id": "i"}
            raw = json.dumps(event).encode()
            family = self.serial
        self.gateway_posts.append((raw, family))
        if self.gateway_post(raw) == 200:
            self.gateway_families.add(family)

    # --- the run --------------------------------------------------------------------

    STEPS = (("voice_incoming", 12), ("voice_step", 25), ("voice_status", 10), ("recording", 8),
             ("twilio_sms", 20), ("sms_status", 4), ("gateway", 16), ("fallback", 5))

    def run(self, count: int) -> None:
        names = [name for name, _ in self.STEPS]
        weights = [weight for _, weight in self.STEPS]
        for _ in range(count):
            getattr(self, self.rng.choices(names, weights)[0])()


def app_without_fsync(app_factory, database_url):
    """Commits that do not wait for the disk (on a WAL file, SQLite stays consistent; on
    PostgreSQL the last commits could be lost in a crash): what is tested is the answers
    and the rows, and on a shared machine fsyncs would make ten thousand requests take minutes."""
    # An unexpected exception is answered 500, as in production, not raised into the test.
    if database_url.startswith("postgresql"):
        options = {"connect_args": {"options": "-c synchronous_commit=off"}}
        return app_factory(PROPAGATE_EXCEPTIONS=False, SQLALCHEMY_ENGINE_OPTIONS=options)
    app = app_factory(PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        event.listen(db.engine, "connect", lambda connection, _: connection.execute("PRAGMA synchronous=1"))
        db.engine.dispose()  # connections opened before (by the migration) reconnect with it
    return app


def test_signed_fuzz_of_every_webhook_gets_no_5xx_and_stores_every_sms_once(app_factory, database_url):
    app = app_without_fsync(app_factory, database_url)
    fuzz = Fuzz(app, random.Random(SEED))
    started, cpu = time.monotonic(), time.process_time()
    fuzz.run(COUNT)  # outside an app context: each request has its own, as in production
    elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
    with app.app_context():
        stored = db.session.scalars(select(SmsMessage)).all()
        call_keys = db.session.scalars(select(Call.call_sid)).all()
        recording_keys = db.session.scalars(select(VoiceMessage.recording_sid)).all()

    dialect = database_url.split(":")[0]
    summary = ", ".join(f"{endpoint} {status}: {n}" for (endpoint, status), n in sorted(fuzz.answers.items()))
    print(f"\n{dialect}: {COUNT} requests in {elapsed:.1f} s ({cpu:.1f} s of CPU), seed {SEED}; {summary}")
    fivexx = sum(n for (_, status), n in fuzz.answers.items() if status >= 500)
    print(f"{dialect}: {fivexx} answers 5xx")

    examples = Counter(fuzz.failures).most_common(8)
    assert not fuzz.failures, f"{len(fuzz.failures)} bad answers, e.g. {examples}"
    twilio_rows = [m for m in stored if m.provider == "twilio"]
    gateway_rows = [m for m in stored if m.provider == "gateway"]
    assert len(twilio_rows) == len(fuzz.sms_families)
    assert len(gateway_rows) == len(fuzz.gateway_families)
    assert all(TWILIO_KEY.fullmatch(m.dedup_key) for m in twilio_rows)
    assert all(CALL_KEY.fullmatch(key) for key in call_keys)
    assert all(RECORDING_KEY.fullmatch(key) for key in recording_keys)
