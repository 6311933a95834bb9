"""`hotline demo`: a believable commune in an empty data folder, so the dashboard, the
reports and `hotline tickets list` are worth looking at on the first run (docs/demo.md).

The commune is invented: three teams, seven villages (bon and thôn of a commune of former
Đắk Nông), eleven staff with one password, and `days` days of requests on every channel,
each taken to its end through the same domain functions the dashboard uses (claims,
outcomes, transfers, home visits, the SMS pipeline), with the one clock (hotline.clock)
moved to each moment so every timestamp is in the past. Only what would reach a phone or
a provider is written directly: the calls themselves, voice messages and their
transcripts, and the SMS the workers would have sent, as the timeline lines those workers
write. Every outbox row the domain queued is played here (its timeline line written, the
row stamped finished) or, when it is work for later, removed: after a demo nothing waits
to be sent. Residents' and staff numbers are in the block 0900 00x xxx, valid Vietnamese
mobile numbers that belong to nobody the demo knows.

Deterministic for a seed: the same seed gives the same requests (their contents, times
relative to the run, people and outcomes), except request codes, which tickets.new_code
draws unguessably as always.

The demo never mixes with real data: it refuses a database holding staff, requests,
residents, teams, villages, calls or SMS that are not its own, and it replaces a previous
demo (everything in those tables is its own then).
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import itertools
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import delete, func, select

from . import clock, jobs, messaging, tickets
from .extensions import db
from .models import (
    AuditEntry,
    Call,
    CallStep,
    Channel,
    EventKind,
    HomeVisit,
    LoginFailure,
    OutboxMessage,
    Resident,
    Role,
    RosterShift,
    SmsMessage,
    SmsOptOut,
    SmsOutbound,
    Staff,
    Team,
    Ticket,
    TicketEvent,
    TicketReason,
    Topic,
    Transcription,
    TranscriptionStatus,
    Village,
    VoiceMessage,
)
from .outbox import add_job
from .sms import pipeline
from .staff import accounts, claims, outcomes

#: Every demo number (residents and staff) starts so: 0900 00x xxx, written +84 90000xxxxx.
PHONE_PREFIX = "+8490000"
RESIDENT_PHONE_BASE = 84900000100  # residents: 0900 000 100, 101, …
STAFF_PHONE_BASE = 84900009001  # staff: 0900 009 001, 002, …

TEAMS = (
    ("VNEID", "Đội hỗ trợ VNeID"),
    ("ANSINH", "Đội an sinh xã hội"),
    ("HOTICH", "Đội hộ tịch"),
)
#: code, name, team, share of residents, share of M'Nông speakers.
VILLAGES = (
    ("BUDAR", "Bon Bu Dăr", "VNEID", 14, 0.6),
    ("JALU", "Bon Ja Lú", "ANSINH", 12, 0.55),
    ("BUNDOR", "Bon Bu N'Đơr", "ANSINH", 10, 0.5),
    ("SARPA", "Bon Sar Pa", "HOTICH", 8, 0.5),
    ("THON3", "Thôn 3", "VNEID", 18, 0.03),
    ("THON5", "Thôn 5", "HOTICH", 14, 0.03),
    ("TANLAP", "Thôn Tân Lập", "VNEID", 12, 0.05),
)
#: username, name, role, team, speaks M'Nông (does that bon's home visits).
STAFF = (
    ("admin", "Hoàng Minh Tuấn", Role.ADMIN, None, False),
    ("lan", "Nguyễn Thị Lan", Role.LEAD, "VNEID", False),
    ("dieukre", "Điểu Kré", Role.LEAD, "ANSINH", True),
    ("hung", "Trần Văn Hùng", Role.VOLUNTEER, "VNEID", False),
    ("mai", "Lê Thị Mai", Role.VOLUNTEER, "VNEID", False),
    ("thihang", "Thị Hằng", Role.VOLUNTEER, "VNEID", True),
    ("duc", "Phạm Văn Đức", Role.VOLUNTEER, "ANSINH", False),
    ("dieuson", "Điểu Sơn", Role.VOLUNTEER, "ANSINH", True),
    ("hoa", "Vũ Thị Hoa", Role.VOLUNTEER, "ANSINH", False),
    ("minh", "Đỗ Quang Minh", Role.VOLUNTEER, "HOTICH", False),
    ("ngoc", "Bùi Thị Ngọc", Role.VOLUNTEER, "HOTICH", False),
)
USERNAMES = tuple(row[0] for row in STAFF)
#: Who takes "talk to a person" calls: two a day, Monday to Saturday (weekday, username, start, end).
ROSTER = tuple(
    (day, name, time(7), time(11, 30) if day == 5 or half == 0 else time(17))
    for day in range(6)
    for half, name in enumerate((("lan", "hung"), ("duc", "mai"), ("minh", "hoa"), ("thihang", "dieuson"),
                                 ("ngoc", "dieukre"), ("hung", "duc"))[day])
)

#: Texts residents send (no accents, abbreviations, as typed on a basic phone).
SMS_TEXTS = (
    "lam on cho hoi cach kich hoat VNeID muc 2",
    "vneid cua toi bi khoa, giup voi",
    "Cho hoi lam cccd gan chip o dau",
    "ko dang nhap dc vneid, quen mat khau",
    "toi muon dang ky khai sinh cho con",
    "xin hoi thu tuc dang ky ket hon",
    "dang ky tam tru cho con gai di lam ve",
    "tro cap nguoi cao tuoi thang nay chua nhan dc",
    "hoi ve luong huu cua ba toi",
    "the bhyt cua con het han, gia han the nao",
    "bao hiem y te hoc sinh dong o dau",
    "hoi thu tuc lam so do",
    "sang ten dat cho con can giay to j",
    "nop ho so tren cong dich vu cong ntn",
    "dich vu cong bao loi k nop dc",
    "chi giup cach thanh toan tien dien ko dung tien mat",
    "chuyen khoan nop hoc phi cho con bi loi",
    "nhan tin bao trung thuong, lua dao phai ko",
    "co nguoi gia danh can bo xa doi tien, lua dao ko",
    "toi can giup do, goi lai cho toi",
)
#: Voice messages as Vosk writes them (lower case, no punctuation), in Vietnamese.
TRANSCRIPTS = (
    "alo tôi ở bon ja lú tôi muốn hỏi tiền trợ cấp của mẹ tôi tháng này chưa nhận được gọi lại cho tôi nhé",
    "chào cán bộ xã tôi không kích hoạt được vê nê ích mức hai điện thoại báo lỗi mong được hướng dẫn",
    "tôi muốn làm giấy khai sinh cho cháu mới sinh cần mang giấy tờ gì ạ",
    "thẻ bảo hiểm y tế của bố tôi hết hạn rồi làm sao gia hạn",
    "có người gọi nói là công an bảo tôi chuyển tiền tôi sợ lừa đảo gọi lại giúp tôi",
    "tôi hỏi về sổ đỏ đất rẫy của gia đình gọi lại số này",
    "nhà tôi ở thôn ba tôi muốn đăng ký tạm trú cho con dâu",
    "bà tôi già rồi không đi lên xã được nhờ cán bộ đến nhà giúp làm giấy tờ",
)
#: What a volunteer writes when closing a request.
NOTES = {
    "resolved": ("Đã hướng dẫn qua điện thoại, bà con làm được rồi",
                 "Hẹn mang CCCD ra bộ phận một cửa sáng thứ Hai"),
    "visit": ("Bà cụ không đi lại được, cần đến nhà",
              "Gia đình không có điện thoại thông minh, đến nhà cài giúp"),
    "visited": ("Đã đến nhà, hướng dẫn xong và nộp hồ sơ giúp",
                "Đã đến nhà, chụp giấy tờ gửi lên cổng dịch vụ công"),
    "wrong": ("Người nghe máy nói không gửi yêu cầu nào", "Số này của người khác, không quen người gửi"),
    "transfer": ("Việc khai sinh, chuyển sang đội hộ tịch", "Hỏi về trợ cấp, chuyển sang đội an sinh"),
    "no_answer": ("Đổ chuông không ai nghe", "Thuê bao tạm thời không liên lạc được"),
}
#: What a volunteer writes when closing a request about a procedure.
RESOLVED_NOTES = {
    Topic.VNEID: "Đã hướng dẫn kích hoạt VNeID mức 2, tài khoản đã hoạt động",
    Topic.CIVIL_STATUS: "Đã hướng dẫn nộp hồ sơ khai sinh trên cổng dịch vụ công",
    Topic.RESIDENCE: "Đã hướng dẫn khai báo tạm trú qua VNeID",
    Topic.PENSION_ALLOWANCE: "Đã kiểm tra: tiền trợ cấp sẽ chi trả cùng kỳ tháng sau",
    Topic.HEALTH_INSURANCE: "Đã hướng dẫn gia hạn thẻ BHYT, hẹn nhận thẻ tại xã",
    Topic.LAND: "Đã hẹn lên bộ phận một cửa gặp cán bộ địa chính",
    Topic.PUBLIC_PORTAL: "Đã hướng dẫn đăng nhập cổng dịch vụ công bằng VNeID",
    Topic.PAYMENTS: "Đã hướng dẫn thanh toán qua ứng dụng ngân hàng",
    Topic.SCAM: "Đã giải thích đây là cuộc gọi lừa đảo, dặn không chuyển tiền",
}
VOICE_TOPICS = ((Topic.VNEID, 30), (Topic.CIVIL_STATUS, 12), (Topic.RESIDENCE, 8),
                (Topic.PENSION_ALLOWANCE, 15), (Topic.HEALTH_INSURANCE, 12), (Topic.LAND, 8),
                (Topic.OTHER, 5))
#: How many requests a day, and how a day's calls fall by local hour.
PER_DAY = 13
HOURS = (1, .5, .5, .5, 1, 2, 4, 9, 10, 10, 9, 7, 4, 5, 8, 9, 8, 6, 5, 5, 4, 3, 2, 1)


class NotEmpty(Exception):
    """The database holds data that is not a demo's: the demo writes nothing."""


@dataclass
class Filled:
    password: str
    staff: list[tuple[str, str, str, str]]  # username, name, role, team name
    teams: int
    villages: int
    requests: int
    days: int
    seed: int


# --- what is there already ---------------------------------------------------------------


def _demo_phone(column: Any) -> Any:
    return column.like(PHONE_PREFIX + "%")


def foreign_rows() -> list[str]:
    """What in the database is not a demo's, as "N staff accounts", … (empty: the demo may fill)."""
    checks = (
        ("staff accounts", Staff, Staff.username.not_in(USERNAMES)
         | (Staff.phone.is_not(None) & ~_demo_phone(Staff.phone))),
        ("requests", Ticket, Ticket.phone.is_(None) | ~_demo_phone(Ticket.phone)),
        ("residents", Resident, ~_demo_phone(Resident.phone)),
        ("teams", Team, Team.code.not_in([code for code, _ in TEAMS])),
        ("villages", Village, Village.code.not_in([row[0] for row in VILLAGES])),
        ("calls", Call, Call.phone.is_(None) | ~_demo_phone(Call.phone)),
        ("SMS", SmsMessage, SmsMessage.phone.is_(None) | ~_demo_phone(SmsMessage.phone)),
    )
    found = []
    for what, model, foreign in checks:
        count = db.session.scalar(select(func.count()).select_from(model).where(foreign))
        if count:
            found.append(f"{count} {what}")
    return found


def _remove_previous_demo() -> None:
    """Everything a previous demo wrote, and what people did with it on the dashboard since
    (foreign_rows() found nothing else in these tables)."""
    in_order: tuple[type[Any], ...] = (
        HomeVisit, Transcription, VoiceMessage, SmsOutbound, SmsMessage, TicketEvent, CallStep, Call, Ticket,
        Resident, RosterShift, LoginFailure, AuditEntry, Staff, Village, Team,
    )
    for model in in_order:
        db.session.execute(delete(model))
    db.session.execute(delete(SmsOptOut).where(_demo_phone(SmsOptOut.phone)))
    # The jobs about its requests (a previous demo's, or queued on its dashboard since).
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.func.in_(list(jobs.ABOUT_REQUESTS))))


# --- the commune ---------------------------------------------------------------------------


def _people(password_hash: str) -> tuple[dict[str, Team], dict[str, Village], dict[str, Staff]]:
    teams = {code: Team(code=code, name=name) for code, name in TEAMS}
    villages = {code: Village(code=code, name=name, team=teams[team]) for code, name, team, *_ in VILLAGES}
    db.session.add_all([*teams.values(), *villages.values()])
    db.session.flush()
    staff = {}
    for number, (username, name, role, team, _mnong) in enumerate(STAFF):
        person = accounts.create_staff(
            username=username, name=name, role=role, team_id=teams[team].id if team else None,
            phone=f"+{STAFF_PHONE_BASE + number}", actor="cli",
        )
        person.password_hash = password_hash  # one password: hashed once (argon2 is slow on purpose)
        staff[username] = person
    db.session.flush()
    for position, (weekday, username, starts, ends) in enumerate(ROSTER):
        db.session.add(RosterShift(staff_id=staff[username].id, weekday=weekday, starts=starts, ends=ends,
                                   position=position % 2))
    return teams, villages, staff


@dataclass
class Person:
    phone: str
    village: str | None
    language: str
    elderly: bool


# --- a request's life --------------------------------------------------------------------

#: fate → (youngest, oldest) age in hours of the requests that can have it.
FATES = {
    "new": (0, 40), "overdue": (50, 10_000), "claimed": (0.5, 45), "waiting": (0.7, 6),
    "retry_due": (60, 10_000), "resolved": (1, 10_000), "resolved_second_try": (60, 10_000),
    "resolved_late": (72, 10_000), "unreachable": (96, 10_000), "wrong_number": (2, 10_000),
    "visit_booked": (2, 40), "visit_done": (80, 10_000), "transferred": (1, 30),
    "transferred_done": (30, 10_000), "cancelled": (3, 10_000),
}
WEIGHTS = {
    "new": 10, "overdue": 3, "claimed": 6, "waiting": 3, "retry_due": 3, "resolved": 30,
    "resolved_second_try": 6, "resolved_late": 5, "unreachable": 3, "wrong_number": 2,
    "visit_booked": 4, "visit_done": 4, "transferred": 2, "transferred_done": 3, "cancelled": 3,
}


@dataclass(order=True)
class Step:
    at: datetime
    seq: int
    run: Callable[[], object] = field(compare=False)


class Demo:
    """Plans every request's life as steps at moments, then runs them in time order with the
    clock at each moment; outbox rows the domain writes are played or removed after each step."""

    def __init__(self, seed: int, days: int, staff: dict[str, Staff], villages: dict[str, Village],
                 teams: dict[str, Team]):
        self.rng = random.Random(seed)
        self.days = days
        self.staff = staff
        self.villages = villages
        self.teams = teams
        self.zone = ZoneInfo(current_app.config["TIMEZONE"])
        self.now = clock.now().replace(second=0, microsecond=0)
        self.heap: list[Step] = []
        self.life: list[Step] = []  # the steps of the request being planned, with those still to come
        self.seq = itertools.count()
        self.handled: set[str] = set()  # job ids (SQLite may give a removed row's id again)
        self.people = 0

    # -- helpers

    def hex(self, length: int) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(length))

    def at(self, moment: datetime, run: Callable[[], object]) -> None:
        """Plan a step of the request being planned (see keep)."""
        self.life.append(Step(moment, next(self.seq), run))

    def later(self, moment: datetime, run: Callable[[], object]) -> None:
        """A step a running step adds (a worker's job after it), run if its moment is past."""
        if self.past(moment):
            heapq.heappush(self.heap, Step(moment, next(self.seq), run))

    def past(self, moment: datetime) -> bool:
        return moment <= self.now - timedelta(minutes=1)

    def keep(self, *, whole: bool) -> bool:
        """Add the planned request's past steps to the run; its later ones are the future, not run.
        With `whole`, only a life lived to its end is kept. False when nothing was kept."""
        life, self.life = self.life, []
        past = [step for step in life if self.past(step.at)]
        if not past or (whole and len(past) < len(life)):
            return False
        for step in past:
            heapq.heappush(self.heap, step)
        return True

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    def work_time(self, moment: datetime) -> datetime:
        """Volunteers work from 07:00 to about 21:30: later work waits for the morning."""
        local = moment.astimezone(self.zone)
        if time(6, 45) <= local.time() <= time(21, 30):
            return moment
        day = local.date() + timedelta(days=1) if local.time() > time(21, 30) else local.date()
        start = datetime.combine(day, time(7), tzinfo=self.zone)
        return start + self.minutes(5, 70)

    def team_of(self, person: Person) -> str | None:
        return next((team for code, _, team, *_ in VILLAGES if code == person.village), None)

    def member(self, team: str | None, *, mnong: bool = False) -> str:
        names = [u for u, _, role, t, _ in STAFF if t == team and role == Role.VOLUNTEER]
        speakers = [u for u, _, role, t, speaks in STAFF if u in names and speaks]
        if mnong and speakers:
            names = speakers
        if not names:  # no team (not routed yet): the admin works it
            return "admin"
        return self.rng.choice(names)

    def lead_of(self, ticket: Ticket) -> Staff:
        """The lead of the team the request is with when the step runs (it may have moved since it
        was planned; team_id, as the relationship may not be reloaded yet), else the admin."""
        team = next((code for code, row in self.teams.items() if row.id == ticket.team_id), None)
        return self.staff[next((u for u, _, role, t, _ in STAFF if t == team and role == Role.LEAD), "admin")]

    def person(self) -> Person:
        phone = f"+{RESIDENT_PHONE_BASE + self.people}"
        self.people += 1
        if self.rng.random() < 0.04:
            return Person(phone, None, "vi", False)
        code, *_rest, mnong = self.rng.choices(VILLAGES, weights=[row[3] for row in VILLAGES])[0]
        language = "mnong" if self.rng.random() < mnong else "vi"
        return Person(phone, code, language, self.rng.random() < (0.3 if code.startswith("B") else 0.15))

    def created_time(self, youngest: float, oldest: float) -> datetime | None:
        """A moment in the last `days` days, by the hours calls come in, `youngest`..`oldest` hours ago."""
        today = self.now.astimezone(self.zone).date()
        youngest = max(youngest, 0.25)
        for _ in range(200):
            day = today - timedelta(days=self.rng.randrange(self.days))
            if day.weekday() == 6 and self.rng.random() < 0.5:
                continue
            hour = self.rng.choices(range(24), weights=HOURS)[0]
            moment = datetime.combine(day, time(hour, self.rng.randrange(60)), tzinfo=self.zone)
            age = (self.now - moment).total_seconds() / 3600
            if youngest <= age <= oldest:
                return moment.astimezone(self.now.tzinfo)
        return None

    # -- planning

    def plan(self, count: int) -> int:
        span = self.days * 24
        required = [f for f, (youngest, _) in FATES.items() if youngest + 12 < span for _ in range(2)]
        #: The first requests cover every channel, reason and procedure, whatever the seed.
        first = [("sms", text) for text in SMS_TEXTS[::2]] + [
            ("callback_requested", Topic.OTHER), ("voicemail", None), ("dropped_call", None),
            ("missed_call", None)]
        planned = 0
        for fate in required:  # each lived to its end, whatever the hour the demo runs
            if self.plan_whole(fate, *(first[0] if first else (None, None))):
                planned, first = planned + 1, first[1:]
        for kind, what in first:  # what the required fates could not carry
            planned += self.plan_whole("resolved", kind, what)
        while planned < count:
            moment = self.created_time(0.2, span)
            if moment is None:
                break
            age = (self.now - moment).total_seconds() / 3600
            fates = [f for f, (youngest, oldest) in FATES.items() if youngest <= age <= oldest]
            fate = self.rng.choices(fates, weights=[WEIGHTS[f] for f in fates])[0]
            planned += self.plan_one(fate, moment) and self.keep(whole=False)
        return planned

    def plan_whole(self, fate: str, kind: str | None, what: str | None) -> bool:
        """Plan a request whose life with this fate ends before now; False if none could be found."""
        return any(self.plan_one(fate, None, kind, what) and self.keep(whole=True) for _ in range(50))

    def channel_for(self, moment: datetime) -> str:
        hour = moment.astimezone(self.zone).hour
        office = 7 <= hour < 17
        kinds = ("callback_requested", "sms", "voicemail", "dropped_call", "missed_call")
        weights = (35, 30, 12, 13, 10) if office else (18, 30, 30, 8, 14)
        return self.rng.choices(kinds, weights=weights)[0]

    def plan_one(self, fate: str, moment: datetime | None, kind: str | None = None,
                 what: str | None = None) -> int:
        """Plan one request with this fate (created at `moment`, else when the fate allows): by
        `kind` (else by the hour's mix of channels), about `what` (an SMS's text, a call's topic)."""
        youngest, oldest = FATES[fate]
        if moment is None:
            moment = self.created_time(youngest, min(oldest, self.days * 24))
            if moment is None:
                return 0
        person = self.person()
        kind = kind or self.channel_for(moment)
        held: dict[str, Ticket] = {}
        team = self.team_of(person)
        self.at(moment, lambda: self.create(held, person, kind, moment, what))
        start = moment
        if person.village is None:  # not routed: the admin gives it a village
            start = self.work_time(moment + self.minutes(20, 90))
            village, team = self.rng.choice([(code, team) for code, _, team, *_ in VILLAGES])
            admin = self.staff["admin"]
            self.at(start, lambda: outcomes.set_village(held["t"], admin, self.villages[village]))
        if person.elderly:
            flag_at = self.work_time(start + self.minutes(5, 40))
            self.at(flag_at, lambda: outcomes.set_elderly(held["t"], self.lead_of(held["t"]), True))
        worker = self.member(team)
        claim_at = self.work_time(start + self.minutes(10, 300))
        if fate == "new":
            return 1
        if fate == "overdue":
            if self.rng.random() < 0.5:
                self.claim(held, worker, claim_at)
            return 1
        if fate == "waiting":
            tried = self.now - self.minutes(5, 30)
            start_at = tried - self.minutes(3, 8)
            if start_at <= start:  # after it was routed, if it had to be
                return 1
            self.claim(held, worker, start_at)
            self.no_answer(held, worker, tried)
            return 1
        if fate == "cancelled":  # the resident cancels by SMS before anyone calls
            cancel_at = moment + self.minutes(60, 1200)
            self.at(cancel_at, lambda: self.sms(person, f"HUY {held['t'].code}", cancel_at))
            return 1
        if fate == "resolved_late":
            claim_at = self.work_time(moment + timedelta(hours=self.rng.uniform(49, 60)))
        self.claim(held, worker, claim_at)
        done_at = claim_at + self.minutes(3, 25)
        if fate == "claimed":
            return 1
        if fate in ("resolved", "resolved_late"):
            self.call_back(held, worker, done_at - self.minutes(1, 3))
            self.resolve(held, worker, done_at)
        elif fate == "wrong_number":
            self.call_back(held, worker, done_at - self.minutes(1, 2))
            note = self.rng.choice(NOTES["wrong"])
            self.at(done_at, lambda: outcomes.wrong_number(held["t"], self.staff[worker], note))
        elif fate in ("retry_due", "resolved_second_try", "unreachable"):
            tries = {"retry_due": 1, "resolved_second_try": 1, "unreachable": 3}[fate]
            when = done_at
            for attempt in range(1, tries + 1):
                self.no_answer(held, worker, when)
                retry = outcomes.next_retry_time(attempt, when)
                if attempt == tries:
                    when = retry
                    break
                when = self.work_time(retry + self.minutes(5, 120))
                self.claim(held, worker, when - self.minutes(2, 4))
            if fate == "resolved_second_try":
                again = self.work_time(when + self.minutes(10, 180))
                self.claim(held, worker, again)
                self.resolve(held, worker, again + self.minutes(3, 20))
        elif fate in ("visit_booked", "visit_done"):
            self.visit(held, team, worker, done_at, person, done=fate == "visit_done")
        elif fate in ("transferred", "transferred_done"):
            other = self.rng.choice([code for code, _ in TEAMS if code != team])
            note = self.rng.choice(NOTES["transfer"])
            self.at(done_at, lambda: outcomes.transfer(held["t"], self.staff[worker], self.teams[other],
                                                       note))
            if fate == "transferred_done":
                taker = self.member(other)
                taken = self.work_time(done_at + self.minutes(30, 300))
                self.claim(held, taker, taken)
                self.resolve(held, taker, taken + self.minutes(5, 25))
        return 1

    def claim(self, held: dict[str, Ticket], username: str, moment: datetime) -> None:
        self.at(moment, lambda: claims.claim(held["t"], self.staff[username]))

    def call_back(self, held: dict[str, Ticket], username: str, moment: datetime) -> None:
        """A callback through the hotline, as the callback job writes it (no call is placed)."""
        if self.rng.random() < 0.3:
            return  # called from their own phone: nothing on the timeline
        key, sid = self.hex(12), "CA" + self.hex(32)

        def call() -> None:
            ticket, staff = held["t"], self.staff[username]
            tickets.add_event(ticket, EventKind.CALLBACK_REQUESTED,
                              f"{staff.name} is calling back through the hotline",
                              data={"key": key, "staff": username}, actor=username)
            tickets.add_event(ticket, EventKind.CALLBACK_PLACED, f"ringing {staff.name}, then the resident",
                              data={"key": key, "staff": username, "sid": sid})

        self.at(moment, call)

    def resolve(self, held: dict[str, Ticket], username: str, moment: datetime) -> None:
        noted = self.rng.random() < 0.6
        general = self.rng.choice(NOTES["resolved"])

        def resolve() -> None:
            ticket = held["t"]
            note = RESOLVED_NOTES.get(Topic(ticket.topic), general) if ticket.topic else general
            outcomes.resolve(ticket, self.staff[username], note if noted else None)

        self.at(moment, resolve)

    def no_answer(self, held: dict[str, Ticket], username: str, moment: datetime) -> None:
        note = self.rng.choice(NOTES["no_answer"]) if self.rng.random() < 0.3 else None
        self.call_back(held, username, moment - self.minutes(1, 2))
        self.at(moment, lambda: outcomes.no_answer(held["t"], self.staff[username], note))

    def visit(self, held: dict[str, Ticket], team: str | None, worker: str, moment: datetime,
              person: Person, *, done: bool) -> None:
        volunteer = self.member(team, mnong=person.language == "mnong")
        local = moment.astimezone(self.zone).date()
        visit_on = local + timedelta(days=self.rng.randint(1, 3))
        if visit_on.weekday() == 6:
            visit_on += timedelta(days=1)
        note = self.rng.choice(NOTES["visit"])
        self.call_back(held, worker, moment - self.minutes(1, 3))
        self.at(moment, lambda: outcomes.book_visit(held["t"], self.staff[worker], visit_on,
                                                    self.staff[volunteer], note))
        if done:
            visited = datetime.combine(visit_on, time(self.rng.randint(8, 16), self.rng.randrange(60)),
                                       tzinfo=self.zone)
            text = self.rng.choice(NOTES["visited"])
            self.at(visited, lambda: outcomes.resolve(held["t"], self.staff[volunteer], text))

    # -- the resident's side

    def create(self, held: dict[str, Ticket], person: Person, kind: str, moment: datetime,
               what: str | None) -> None:
        resident = db.session.scalar(select(Resident).where(Resident.phone == person.phone))
        if resident is None:
            village = self.villages[person.village].id if person.village else None
            db.session.add(Resident(phone=person.phone, language=person.language, village_id=village,
                                    created_at=moment))
            db.session.flush()
        if kind == "sms":
            ticket = self.sms(person, what or self.rng.choice(SMS_TEXTS), moment)
            if ticket is None:
                raise RuntimeError(f"a demo SMS made no request: {person}")
            held["t"] = ticket
            return
        sid = "CA" + self.hex(32)
        length = {"callback_requested": (45, 150), "voicemail": (40, 110), "dropped_call": (8, 60),
                  "missed_call": (0, 0)}[kind]
        seconds = self.rng.randint(*length)
        topics, weights = zip(*VOICE_TOPICS, strict=True)
        topic = what or self.rng.choices(topics, weights=weights)[0]
        status = "canceled" if kind == "missed_call" else "completed"
        data = {"call_sid": sid} | ({} if kind in ("callback_requested", "voicemail") else {"status": status})
        ticket = tickets.create_ticket(
            phone=person.phone, channel=Channel.VOICE, reason=TicketReason(kind),
            topic=topic if kind == "callback_requested" else None, language=person.language, event_data=data,
        )
        ticket.created_at = moment
        outcome = {"callback_requested": "request", "voicemail": "voice_message"}.get(kind)
        db.session.add(Call(
            call_sid=sid, from_number=person.phone, phone=person.phone,
            to_number=current_app.config.get("PHONE_NUMBER"), language=person.language, status=status,
            duration_seconds=seconds, ticket=ticket, outcome=outcome,
            started_at=moment - timedelta(seconds=seconds), ended_at=moment,
        ))
        db.session.flush()
        held["t"] = ticket
        if kind in ("callback_requested", "voicemail"):
            add_job(f"sms-confirmation-{ticket.id}", jobs.send_request_confirmation, ticket.id)
        if kind == "voicemail":
            self.voice_message(ticket, sid, seconds, person, moment)

    def voice_message(self, ticket: Ticket, call_sid: str, seconds: int, person: Person,
                      moment: datetime) -> None:
        """The recording and what the speech worker made of it (no recording is downloaded)."""
        sid = "RE" + self.hex(32)
        message = VoiceMessage(recording_sid=sid, ticket=ticket, call_sid=call_sid, duration_seconds=seconds,
                               language=person.language, created_at=moment)
        db.session.add(message)
        tickets.add_event(ticket, EventKind.VOICE_MESSAGE, "voice message recorded",
                          data={"recording_sid": sid, "duration": seconds})
        db.session.flush()
        done = moment + self.minutes(1, 4)
        row = Transcription(voice_message=message, ticket=ticket, language=person.language, runs=1,
                            created_at=moment, started_at=done - timedelta(seconds=30), finished_at=done)
        db.session.add(row)

        def transcribed() -> None:
            if person.language != "vi":
                row.status = TranscriptionStatus.NO_MODEL
                text = "no speech model for M'Nông installed; the recording can be played"
                tickets.add_event(ticket, EventKind.TRANSCRIPTION_NO_MODEL, text,
                                  data={"language": person.language})
                return
            confidence = round(self.rng.uniform(0.45, 0.93), 2)
            low = confidence < float(current_app.config["ASR_LOW_CONFIDENCE"])
            row.status = TranscriptionStatus.DONE
            row.text = self.rng.choice(TRANSCRIPTS)
            row.confidence, row.low_confidence = confidence, low
            row.audio_seconds, row.model_name = float(seconds), "vosk-model-small-vn-0.4"
            row.processing_seconds = round(seconds * 0.3, 3)
            ticket.transcript = row.text
            summary = (f"voice message transcribed with low confidence ({confidence:.2f}): listen to the "
                       "recording") if low else f"voice message transcribed (confidence {confidence:.2f})"
            tickets.add_event(ticket, EventKind.TRANSCRIPTION_DONE, summary, data={
                "confidence": confidence, "low_confidence": low, "empty": False,
                "model": row.model_name, "seconds": row.audio_seconds})

        self.later(done, transcribed)

    def sms(self, person: Person, text: str, moment: datetime) -> Ticket | None:
        """The SMS through the same pipeline as the webhooks; its reply is queued (and played)."""
        key = hashlib.sha256(f"{person.phone}|{text}|{moment.isoformat()}".encode()).hexdigest()[:40]
        inbound = pipeline.receive_sms(provider="gateway", dedup_key=key, from_number=person.phone, text=text,
                                       provider_id=key[:21], received_at=moment)
        inbound.message.created_at = moment
        return inbound.message.ticket

    # -- the outbox: what the workers would have done

    def settle(self) -> None:
        """Play each new outbox row as its worker would, without a provider, or remove it."""
        db.session.flush()
        rows = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.finished_at.is_(None)).order_by(OutboxMessage.id)
        ).all()
        for row in rows:
            if row.job_id in self.handled:
                continue
            self.handled.add(row.job_id)
            if row.run_at is not None and not self.past(row.run_at):
                db.session.delete(row)  # work for later: not left to reach anyone
                continue
            moment = row.run_at or clock.now() + timedelta(seconds=self.rng.randint(3, 40))
            heapq.heappush(self.heap, Step(moment, next(self.seq), functools.partial(self.play, row)))

    def play(self, row: OutboxMessage) -> None:
        args = list(row.args)
        if row.func == "send_request_confirmation":
            self.texted(db.session.get_one(Ticket, args[0]), "request_confirmation", "confirmation")
        elif row.func == "send_ticket_sms":
            ticket_id, template, key, *values = args
            extra = (values[0] if values else None) or {}
            self.texted(db.session.get_one(Ticket, ticket_id), template, key, **extra)
        elif row.func == "send_outbound_sms":
            self.sent_reply(db.session.get_one(SmsOutbound, args[0]))
        elif row.func == "return_to_queue":
            outcomes.return_to_queue(*args)
        elif row.func == "visit_reminder":
            visit = db.session.get_one(HomeVisit, args[0])
            if visit.ticket.status in ("open", "in_progress"):
                self.texted(visit.ticket, "visit_reminder", f"visit-reminder-{visit.id}",
                            date=f"{visit.visit_on:%d/%m}")
        elif row.func == "notify_volunteer":
            visit = db.session.get_one(HomeVisit, args[0])
            volunteer = visit.volunteer
            data = self.gateway(volunteer.phone, f"volunteer-{visit.id}") | {"volunteer": volunteer.username}
            text = f"visit details texted to {volunteer.name}"
            tickets.add_event(visit.ticket, EventKind.STAFF_SMS_SENT, text, data=data)
        else:
            raise RuntimeError(f"the demo does not know how to play {row.func}")
        row.relayed_at = row.finished_at = clock.now()

    def gateway(self, to: str | None, key: str, body: str | None = None) -> dict[str, Any]:
        return {"key": key, "to": to, "body": body, "provider": "gateway",
                "sid": messaging.GatewayProvider.message_id(key), "status": "Sent"}

    def texted(self, ticket: Ticket, template: str, key: str, **values: str) -> None:
        body = messaging.render_sms(template, ticket.language, **{**values, "code": ticket.code})
        tickets.add_event(ticket, EventKind.SMS_SENT, "SMS sent through SMS Gateway (Sent)",
                          data=self.gateway(ticket.phone, f"ticket-{ticket.id}-{key}", body) | {"key": key})

    def sent_reply(self, row: SmsOutbound) -> None:
        data = self.gateway(row.phone, row.key, row.body)
        row.attempts, row.provider, row.provider_id = 1, "gateway", data["sid"]
        row.status, row.provider_status, row.sent_at = "sent", "Sent", clock.now()
        if row.ticket is not None:
            tickets.add_event(row.ticket, EventKind.SMS_SENT, "SMS sent through SMS Gateway (Sent)",
                              data=data | {"sms_id": row.id})

    # -- running

    def run(self) -> None:
        while self.heap:
            step = heapq.heappop(self.heap)
            clock.travel_to(step.at)
            step.run()
            self.settle()


def fill(*, days: int = 7, seed: int = 13) -> Filled:
    """Fill the database with the demo commune (in the caller's unit of work); raises NotEmpty
    when it holds anything that is not a previous demo's."""
    foreign = foreign_rows()
    if foreign:
        raise NotEmpty(f"this database already holds {', '.join(foreign)} that `hotline demo` did not write: "
                       "the demo only fills an empty data folder (name another with HOTLINE_DATA_DIR)")
    _remove_previous_demo()
    db.session.flush()
    password = "demo-" + "".join(secrets.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(10))
    teams, villages, staff = _people(accounts.hash_password(password))
    before = clock.offset()
    try:
        demo = Demo(seed, days, staff, villages, teams)
        count = demo.plan(days * PER_DAY)
        demo.run()
    finally:
        clock.set_offset(before)
    db.session.flush()
    names = {code: name for code, name in TEAMS}
    people = [(u, n, str(r), names.get(t or "", "")) for u, n, r, t, _ in STAFF]
    return Filled(password, people, len(TEAMS), len(VILLAGES), count, days, seed)
