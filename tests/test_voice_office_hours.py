"""Hours, holidays and address come from one source, read the same by voice, by SMS and on the
dashboard's settings page: the dashboard's imported hours once they exist (else
office_hours.yaml), its holidays, and the commune address setting."""

from __future__ import annotations

import datetime as dt
import uuid

from hotline import clock
from hotline.sms.pipeline import REPLY_RETURN, receive_sms
from tests.test_sms_hours import imported
from tests.test_voice_paths import to_main_menu
from tests.voice_helpers import app_settings  # noqa: F401  (their app: no recorded prompts)


def hours_and_address(twilio) -> str:
    call = to_main_menu(twilio, number=f"+849{uuid.uuid4().int % 10**8:08d}")
    call.press("3")
    call.press("1")
    return call.said()


def sms_hours() -> str:
    return receive_sms(provider="test", dedup_key=uuid.uuid4().hex, from_number="+84912345678",
                       text="gio lam viec", reply_mode=REPLY_RETURN).reply


def test_voice_reads_the_hours_and_the_address_from_the_data(twilio):
    said = hours_and_address(twilio)
    assert ("Ủy ban nhân dân xã làm việc từ thứ Hai đến thứ Sáu, từ 7 giờ đến 11 giờ 30 và từ 13 giờ 30 "
            "đến 17 giờ; thứ Bảy, từ 7 giờ 30 đến 11 giờ 30.") in said
    assert "Địa chỉ: Bộ phận một cửa, trụ sở Ủy ban nhân dân xã." in said
    assert "T2-T6 7:00-11:30, 13:30-17:00; T7 7:30-11:30" in sms_hours()


def test_after_an_import_voice_and_sms_state_the_same_new_hours(twilio):
    imported([(day, "07:30", "11:30") for day in range(5)])
    said = hours_and_address(twilio)
    assert "làm việc từ thứ Hai đến thứ Sáu, từ 7 giờ 30 đến 11 giờ 30." in said
    assert "13 giờ 30" not in said and "thứ Bảy" not in said
    assert "T2-T6 7:30-11:30" in sms_hours()


def test_the_settings_page_shows_what_callers_and_sms_hear(app, twilio):
    from tests.staff_fixtures import StaffClient, World

    World()
    imported([(day, "07:30", "11:30") for day in range(5)])
    tz = app.extensions["hotline.office_hours"].timezone
    clock.travel_to(dt.datetime(2026, 8, 20, 10, 0, tzinfo=tz))
    page = StaffClient(app, "admin").get("/staff/admin").get_data(as_text=True)
    assert '<span id="office-hours">T2-T6 7:30-11:30</span>' in page
    assert "T2-T6 7:30-11:30" in sms_hours()
    assert '<span id="office-holidays">01/09/2026, 02/09/2026</span>' in page
    assert "Ngày nghỉ sắp tới: 1 tháng 9, 2 tháng 9." in hours_and_address(twilio)
    assert '<span id="office-address">Bộ phận một cửa, trụ sở Ủy ban nhân dân xã</span>' in page


def test_the_coming_holidays_are_named(app, twilio):
    tz = app.extensions["hotline.office_hours"].timezone
    clock.travel_to(dt.datetime(2026, 8, 20, 10, 0, tzinfo=tz))
    assert "Ngày nghỉ sắp tới: 1 tháng 9, 2 tháng 9." in hours_and_address(twilio)
    clock.travel_to(dt.datetime(2026, 6, 10, 10, 0, tzinfo=tz))
    assert "Nghỉ các ngày lễ, Tết." in hours_and_address(twilio)
