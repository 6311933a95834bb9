"""The admin's pages for people and places: accounts, passwords, unlocking, teams, villages."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from hotline.extensions import db
from hotline.models import AuditEntry, LoginFailure, Staff, Team, Village
from hotline.staff import accounts
from tests.staff_fixtures import *  # noqa: F403  (fixtures)
from tests.staff_fixtures import PASSWORD, csrf_from, fresh_request_globals


def _staff(username: str) -> Staff | None:
    db.session.expire_all()
    return db.session.scalar(select(Staff).where(Staff.username == username))


def test_only_admins_reach_the_pages(world, login):
    lead = login("thu")
    for path in ("/staff/admin/accounts", "/staff/admin/places"):
        assert lead.get(path).status_code == 403
    assert lead.post("/staff/admin/accounts", data={"username": "x"}).status_code == 403
    assert _staff("x") is None
    admin = login("admin")
    page = admin.get("/staff/admin").get_data(as_text=True)
    assert "/staff/admin/accounts" in page and "/staff/admin/places" in page


def test_an_admin_creates_an_account_that_can_log_in(app, world, login):
    admin = login("admin")
    team = world.team_a
    response = admin.post("/staff/admin/accounts", data={
        "username": "Nam", "name": "Ngô Nam", "role": "volunteer", "team_id": str(team.id),
        "phone": "0912 000 111", "password": "mat-khau-dai"})
    assert response.status_code == 302
    nam = _staff("nam")
    assert nam is not None and nam.team_id == team.id and nam.phone == "+84912000111"
    assert "Đã tạo tài khoản nam" in admin.get("/staff/admin/accounts").get_data(as_text=True)
    login("nam", "mat-khau-dai")  # asserts the login succeeds
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "staff_created",
                                                      AuditEntry.target == "nam")).actor == "admin"


def test_a_refused_account_keeps_what_was_typed_and_says_why(world, login):
    admin = login("admin")
    cases = [
        ({"username": "lan"}, "Tên đăng nhập này đã có người dùng."),
        ({"username": "a b"}, "Tên đăng nhập gồm"),
        ({"password": "short"}, "Mật khẩu cần ít nhất 8 ký tự."),
        ({"phone": "12"}, "Đây không phải số điện thoại."),
        ({"phone": "0911000001"}, "Một tài khoản khác đã dùng số điện thoại này."),
    ]
    for change, message in cases:
        form = {"username": "moi", "name": "Người Mới", "role": "lead", "phone": "",
                "password": "mat-khau-dai", **change}
        response = admin.post("/staff/admin/accounts", data=form)
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and message in page, change
        assert 'value="Người Mới"' in page and "mat-khau-dai" not in page
        assert '<option value="lead" selected' in page
    assert _staff("moi") is None


def test_an_admin_sets_a_new_password_which_also_unlocks_and_ends_sessions(app, world, login):
    volunteer = login("lan")
    for _ in range(app.config["STAFF_LOGIN_MAX_FAILURES"]):
        accounts.record_failed_login("lan", "10.0.0.9")
    db.session.commit()
    admin = login("admin")
    page = admin.get("/staff/admin/accounts").get_data(as_text=True)
    assert "Bị khóa vì nhập sai mật khẩu quá nhiều lần." in page
    lan = _staff("lan")
    assert admin.post(f"/staff/admin/accounts/{lan.id}/password", data={"password": "123"}).status_code == 302
    assert "Mật khẩu cần ít nhất 8 ký tự." in admin.get("/staff/admin/accounts").get_data(as_text=True)
    response = admin.post(f"/staff/admin/accounts/{lan.id}/password", data={"password": "mat-khau-moi"})
    assert response.status_code == 302
    assert volunteer.get("/staff/").status_code == 302  # the old session ended
    assert db.session.scalar(select(func.count()).select_from(LoginFailure)) == 0
    login("lan", "mat-khau-moi")


def test_an_admin_unlocks_a_locked_account(app, world, login):
    for _ in range(app.config["STAFF_LOGIN_MAX_FAILURES"]):
        accounts.record_failed_login("hung", "10.0.0.9")
    db.session.commit()
    client = app.test_client()
    fresh_request_globals()
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    form = {"username": "hung", "password": PASSWORD, "csrf_token": token}
    refused = client.post("/staff/login", data=form)
    assert refused.status_code == 429 and "quản trị viên mở khóa" in refused.get_data(as_text=True)
    admin = login("admin")
    hung = _staff("hung")
    assert admin.post(f"/staff/admin/accounts/{hung.id}/unlock").status_code == 302
    assert "hung có thể đăng nhập lại." in admin.get("/staff/admin/accounts").get_data(as_text=True)
    login("hung")
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "login_unlocked")).target == "hung"


def test_an_admin_adds_teams_and_villages(world, login):
    admin = login("admin")
    assert admin.post("/staff/admin/teams", data={"code": "T24", "name": "Tổ 24"}).status_code == 302
    team = db.session.scalar(select(Team).where(Team.code == "T24"))
    assert team is not None and team.name == "Tổ 24"
    taken = admin.post("/staff/admin/teams", data={"code": "t24", "name": "Again"})
    assert taken.status_code == 400 and "Mã này đã được dùng." in taken.get_data(as_text=True)
    response = admin.post("/staff/admin/villages",
                          data={"code": "V12", "name": "Bon Đăk Nia", "team_id": str(team.id)})
    assert response.status_code == 302
    village = db.session.scalar(select(Village).where(Village.code == "V12"))
    assert village is not None and village.team_id == team.id
    spaced = admin.post("/staff/admin/villages", data={"code": "V 13", "name": "Thôn 13", "team_id": ""})
    page = spaced.get_data(as_text=True)
    assert spaced.status_code == 400 and 'value="Thôn 13"' in page
    unknown_team = admin.post("/staff/admin/villages",
                              data={"code": "V13", "name": "Thôn 13", "team_id": "99999"})
    assert unknown_team.status_code == 400
    page = admin.get("/staff/admin/places").get_data(as_text=True)
    assert "Bon Đăk Nia" in page and "Tổ 24" in page
    assert db.session.scalar(select(func.count()).select_from(Village).where(Village.code == "V13")) == 0


# --- the CSV import form ------------------------------------------------------------------


def _import(admin, kind, content: bytes | None, name="file.csv"):
    data = {"kind": kind}
    if content is not None:
        data["file"] = (io.BytesIO(content), name)
    return admin.post("/staff/admin/import", data=data, content_type="multipart/form-data")


def test_after_a_failed_import_the_chosen_kind_is_kept(world, login):
    admin = login("admin")
    response = _import(admin, "villages", "code,name,team\nV09,Thôn 9,T99\n".encode())
    assert response.status_code == 302 and "kind=villages" in response.location
    page = admin.get(response.location).get_data(as_text=True)
    assert '<option value="villages" selected' in page
    assert "Chưa nhập gì: 1 dòng lỗi." in page
    assert db.session.scalar(select(func.count()).select_from(Village).where(Village.code == "V09")) == 0


def test_an_empty_submit_says_what_is_missing(world, login):
    admin = login("admin")
    header_only = "Tệp chỉ có dòng tiêu đề, không có dòng dữ liệu: không nhập gì."
    cases = [
        (("staff", None), "Chưa gửi gì: hãy chọn một tệp CSV rồi bấm Nhập."),
        (("staff", b"", ""), "Chưa gửi gì: hãy chọn một tệp CSV rồi bấm Nhập."),
        (("teams", b"   \n"), "Tệp trống: không nhập gì."),
        (("teams", b"code,name\n"), header_only),
        (("", b"code,name\nT9,x\n"), "Hãy chọn loại dữ liệu cần nhập."),
    ]
    for args, message in cases:
        response = _import(admin, *args)
        assert response.status_code == 302
        page = admin.get(response.location).get_data(as_text=True)
        assert message in page, message
    assert '<option value="teams" selected' in admin.get("/staff/admin?kind=teams").get_data(as_text=True)
