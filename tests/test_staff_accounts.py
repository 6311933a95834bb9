"""Accounts: argon2 login, rate limit, CSRF, cookies, audit log, CSV import, CLI."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.extensions import db
from hotline.models import AuditEntry, OfficeHours, Resident, Role, RosterShift, Staff, Team, Village
from hotline.staff import accounts
from hotline.staff.importer import ImportFailed, import_csv
from tests.staff_fixtures import *  # noqa: F403  (fixtures)
from tests.staff_fixtures import PASSWORD, csrf_from, fresh_request_globals


def test_passwords_are_argon2_hashes(world):
    staff = db.session.scalar(select(Staff).where(Staff.username == "lan"))
    assert staff.password_hash.startswith("$argon2id$")
    assert PASSWORD not in staff.password_hash


def test_login_sets_a_secure_httponly_session_cookie_and_is_audited(app, world):
    client = app.test_client()
    fresh_request_globals()
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    form = {"username": "LAN ", "password": PASSWORD, "csrf_token": token}
    response = client.post("/staff/login", data=form)
    assert response.status_code == 302 and response.location.endswith("/staff/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back (test_first_run.py)
    assert client.get("/staff/").status_code == 200
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "login")).actor == "lan"


def test_wrong_password_is_refused_and_the_queue_needs_a_login(app, world):
    client = app.test_client()
    fresh_request_globals()
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    response = client.post("/staff/login", data={"username": "lan", "password": "nope", "csrf_token": token})
    assert response.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_logins_are_rate_limited_even_with_the_right_password(app, world):
    client = app.test_client()
    fresh_request_globals()
    token = csrf_from(client.get("/staff/login").get_data(as_text=True))
    for _ in range(app.config["STAFF_LOGIN_MAX_FAILURES"]):
        client.post("/staff/login", data={"username": "lan", "password": "guess", "csrf_token": token})
    form = {"username": "lan", "password": PASSWORD, "csrf_token": token}
    response = client.post("/staff/login", data=form)
    assert response.status_code == 429
    assert client.get("/staff/").status_code == 302


def _try(client, username, password, address="127.0.0.1"):
    fresh_request_globals()
    where = {"REMOTE_ADDR": address}
    token = csrf_from(client.get("/staff/login", environ_base=where).get_data(as_text=True))
    form = {"username": username, "password": password, "csrf_token": token}
    return client.post("/staff/login", data=form, environ_base=where)


def test_a_locked_account_does_not_lock_out_a_colleague_on_the_same_address(app, world):
    guesser = app.test_client()
    for _ in range(app.config["STAFF_LOGIN_MAX_FAILURES"]):
        assert _try(guesser, "lan", "guess").status_code == 401
    assert _try(guesser, "lan", PASSWORD).status_code == 429  # the guessed account is locked…
    assert _try(app.test_client(), "lan", PASSWORD, address="10.1.1.1").status_code == 429  # …from anywhere
    colleague = app.test_client()
    assert _try(colleague, "hung", PASSWORD).status_code == 302  # same address, right password
    assert colleague.get("/staff/").status_code == 200


def test_a_locked_address_cannot_retry_the_accounts_it_guessed_but_others_get_in(app, world):
    app.config["STAFF_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    sprayer = app.test_client()
    for username in ("lan", "hung", "minh"):  # one guess each: no account is locked
        assert _try(sprayer, username, "123456").status_code == 401
    refused = _try(sprayer, "lan", PASSWORD)
    assert refused.status_code == 429  # the address is locked for the accounts it guessed
    assert "Sai quá nhiều lần. Đợi vài phút rồi thử lại." in refused.get_data(as_text=True)
    assert _try(app.test_client(), "thu", PASSWORD).status_code == 302  # a colleague there still gets in
    assert _try(app.test_client(), "lan", PASSWORD, address="10.1.1.1").status_code == 302  # lan, elsewhere


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(app, world, login):
    ticket = world.ticket(world.village_a)
    staff = login("lan")
    response = staff.client.post(f"/staff/t/{ticket.code}/claim", data={})
    assert response.status_code == 400
    db.session.expire_all()
    assert ticket.assignee_id is None
    # A login form without the token is refused too.
    response = app.test_client().post("/staff/login", data={"username": "lan", "password": PASSWORD})
    assert response.status_code == 400


def test_english_is_second(app, world, login):
    staff = login("lan")
    assert "Hàng chờ gọi lại" in staff.get("/staff/").get_data(as_text=True)
    staff.post("/staff/lang", data={"lang": "en"})
    assert "Callback queue" in staff.get("/staff/").get_data(as_text=True)


def test_import_is_all_or_nothing_with_an_error_per_bad_row(app):
    import_csv("code,name\nT01,Tổ 1\nT02,Tổ 2\n", "teams")
    bad = "code,name,team\nV01,Thôn 1,T01\nV02,Thôn 2,T09\nV03,,T01\nV01,Again,T01\n"
    try:
        import_csv(bad, "villages")
    except ImportFailed as failed:
        messages = [str(e) for e in failed.errors]
    else:
        raise AssertionError("a file with bad rows was imported")
    assert messages == [
        'row 3, column "team": no team with code "T09"',
        'row 4, column "name": empty',
        "row 5: V01 appears twice in the file",
    ]
    assert db.session.scalar(select(func.count()).select_from(Village)) == 0
    assert import_csv("code,name,team\nV01,Thôn 1,T01\nV02,Bon 2,T02\n", "villages") == 2
    assert import_csv("code,name,team\nV01,Thôn 1,T01\nV02,Bon 2,T02\n", "villages") == 2  # idempotent
    assert db.session.scalar(select(func.count()).select_from(Village)) == 2


def test_import_rejects_unknown_columns(app):
    try:
        import_csv("code,nom\nT01,x\n", "teams")
    except ImportFailed as failed:
        assert "missing column(s): name" in str(failed.errors[0])
        assert "unknown column(s): nom" in str(failed.errors[0])
    else:
        raise AssertionError("accepted a file with wrong columns")


def test_cli_imports_everything_and_routes_residents(app, runner, tmp_path, world):
    files = {
        "staff.csv": "username,name,role,team,phone,password\n"
        "nam,Ngô Nam,volunteer,T01,0912 000 111,secret-pass-1\n",
        "roster.csv": "username,weekday,start,end,position\nnam,T2,07:30,11:30,1\nlan,mon,07:30,11:30,2\n",
        "hours.csv": "weekday,opens,closes\nmon,07:30,11:30\nmon,13:30,17:00\n",
        "residents.csv": "phone,village\n0987 654 321,V02\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    ticket = world.ticket(None, phone="+84987654321")
    assert ticket.team_id is None
    for kind, name in [
        ("staff", "staff.csv"),
        ("roster", "roster.csv"),
        ("office-hours", "hours.csv"),
        ("residents", "residents.csv"),
    ]:
        result = runner.invoke(args=["import", kind, str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert "imported" in result.output
    nam = db.session.scalar(select(Staff).where(Staff.username == "nam"))
    assert nam.phone == "+84912000111" and nam.team.code == "T01" and nam.role == Role.VOLUNTEER
    assert db.session.scalar(select(func.count()).select_from(RosterShift)) == 2
    assert db.session.scalar(select(func.count()).select_from(OfficeHours)) == 2
    resident = db.session.scalar(select(Resident).where(Resident.phone == "+84987654321"))
    assert resident.village_id == world.village_b.id
    db.session.expire_all()
    assert ticket.team_id == world.team_b.id  # the open request followed the resident


def test_cli_import_prints_every_bad_row_and_imports_nothing(app, runner, tmp_path):
    path = tmp_path / "teams.csv"
    path.write_text("code,name\nT01,\n,Tổ 2\n", encoding="utf-8")
    result = runner.invoke(args=["import", "teams", str(path)])
    assert result.exit_code == 1
    assert 'teams.csv: row 2, column "name": empty' in result.output
    assert 'teams.csv: row 3, column "code": empty' in result.output
    assert "2 error(s); nothing imported" in result.output
    assert db.session.scalar(select(func.count()).select_from(Team)) == 0


def test_users_token_issues_a_working_token_once(app, runner, world):
    result = runner.invoke(args=["users", "token", "lan"])
    assert result.exit_code == 0
    token = result.output.strip()
    assert accounts.staff_for_token(token).username == "lan"
    staff = db.session.scalar(select(Staff).where(Staff.username == "lan"))
    assert token not in (staff.api_token_hash or "")
    second = runner.invoke(args=["users", "token", "lan"]).output.strip()
    assert accounts.staff_for_token(token) is None and accounts.staff_for_token(second) is not None
    assert runner.invoke(args=["users", "token", "nobody"]).exit_code == 1


def test_users_create(app, runner, world):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "hoa",
            "--name",
            "Hoa",
            "--role",
            "lead",
            "--team",
            "T02",
            "--phone",
            "0912 333 444",
            "--password",
            "long-enough-pw",
        ]
    )
    assert result.exit_code == 0, result.output
    hoa = accounts.authenticate("hoa", "long-enough-pw", None)
    assert hoa.role == "lead" and hoa.phone == "+84912333444"


def test_admins_import_csv_from_the_browser_all_or_nothing(app, world, login):
    import io

    admin = login("admin")
    bad = io.BytesIO("code,name,team\nV09,Thôn 9,T01\nV10,Thôn 10,T77\n".encode())
    page = admin.post(
        "/staff/admin/import",
        data={"kind": "villages", "file": (bad, "v.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Chưa nhập gì: 1 dòng lỗi." in page
    assert "dòng 3, cột &#34;tổ&#34;: không có tổ nào mã &#34;T77&#34;" in page
    assert db.session.scalar(select(Village).where(Village.code == "V09")) is None
    good = io.BytesIO("code,name,team\nV09,Thôn 9,T01\n".encode())
    page = admin.post(
        "/staff/admin/import",
        data={"kind": "villages", "file": (good, "v.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Đã nhập 1 dòng." in page
    assert db.session.scalar(select(Village).where(Village.code == "V09")).team.code == "T01"
    assert login("thu").post("/staff/admin/import", data={"kind": "teams"}).status_code == 403
