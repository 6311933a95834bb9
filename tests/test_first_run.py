"""A first run that just works: the session cookie on plain HTTP, `/` and the favicon, the
dashboard's address and the first admin printed by `hotline up`, and commands that find
the same data folder from any folder and say so in one line when there is no database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli import cli
from hotline.config import default_data_dir
from hotline.up import _print_dashboard
from tests.staff_fixtures import *  # noqa: F403  (fixtures)
from tests.staff_fixtures import PASSWORD, csrf_from, fresh_request_globals

ROOT = Path(__file__).resolve().parent.parent


def _login(client, base_url="http://localhost", headers=None):
    """Log in as lan; over HTTPS with the Referer a browser sends (Flask-WTF checks it there)."""
    headers = {"Referer": f"{base_url}/staff/login", **(headers or {})}
    fresh_request_globals()
    page = client.get("/staff/login", base_url=base_url, headers=headers)
    token = csrf_from(page.get_data(as_text=True))
    fresh_request_globals()
    form = {"username": "lan", "password": PASSWORD, "csrf_token": token}
    return client.post("/staff/login", data=form, base_url=base_url, headers=headers)


# --- the session cookie follows the scheme ----------------------------------------------


def test_over_plain_http_the_cookie_is_not_secure_and_the_login_works(app, world):
    client = app.test_client()
    response = _login(client)
    assert response.status_code == 302
    assert "Secure" not in response.headers["Set-Cookie"]
    assert client.get("/staff/").status_code == 200


def test_over_https_the_cookie_is_secure(app, world):
    client = app.test_client()
    response = _login(client, base_url="https://localhost")
    assert response.status_code == 302 and "; Secure" in response.headers["Set-Cookie"]


def test_behind_a_declared_https_proxy_the_cookie_is_secure_and_not_otherwise(app_factory, world):
    proxied = app_factory(PROXY_COUNT=1)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    with proxied.app_context():
        seen_from_outside = {**forwarded, "Referer": "https://localhost/staff/login"}
        response = _login(proxied.test_client(), headers=seen_from_outside)
        assert response.status_code == 302 and "; Secure" in response.headers["Set-Cookie"]
    undeclared = app_factory()  # PROXY_COUNT=0: a client's X-Forwarded-Proto means nothing
    with undeclared.app_context():
        response = _login(undeclared.test_client(), headers=forwarded)
        assert response.status_code == 302 and "Secure" not in response.headers["Set-Cookie"]


def test_a_cookie_the_browser_did_not_keep_is_named_in_the_error(app_factory, world):
    app = app_factory()
    with app.app_context():
        fresh_request_globals()
        token = csrf_from(app.test_client().get("/staff/login").get_data(as_text=True))
        fresh_request_globals()
        cookieless = app.test_client()  # a browser that dropped the cookie
        response = cookieless.post("/staff/login", data={"username": "lan", "password": PASSWORD,
                                                         "csrf_token": token})
        page = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "Trình duyệt không giữ cookie" in page and "Biểu mẫu đã hết hạn" not in page
    forced = app_factory(SESSION_COOKIE_SECURE=True)  # an operator forced Secure on plain HTTP
    with forced.app_context():
        client = forced.test_client()
        fresh_request_globals()
        token = csrf_from(client.get("/staff/login").get_data(as_text=True))
        client.delete_cookie("session")  # what a browser does with a Secure cookie over HTTP
        fresh_request_globals()
        response = client.post("/staff/login", data={"username": "lan", "password": PASSWORD,
                                                     "csrf_token": token})
        page = response.get_data(as_text=True)
        assert response.status_code == 400 and "chỉ giữ cookie đăng nhập qua HTTPS" in page
        assert "HOTLINE_SESSION_COOKIE_SECURE=auto" in page


# --- the front door -----------------------------------------------------------------------


def test_the_root_is_a_vietnamese_landing_page_or_the_dashboard(app, world, login):
    client = app.test_client()
    fresh_request_globals()
    page = client.get("/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'href="/staff/login"' in text
    assert "Đăng nhập vào bảng điều khiển" in text and 'lang="vi"' in text
    staff = login("lan")
    response = staff.get("/")
    assert response.status_code == 302 and response.location.endswith("/staff/")


def test_a_favicon(app):
    response = app.test_client().get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO header


# --- hotline up: where to go, and the first admin ---------------------------------------


def test_up_prints_the_dashboard_and_how_to_make_the_first_admin(capsys, tmp_path):
    _print_dashboard("0.0.0.0", 5000, tmp_path, admin_exists=False)
    out = capsys.readouterr().out
    assert "Dashboard: http://127.0.0.1:5000/" in out
    assert f'HOTLINE_DATA_DIR={tmp_path} hotline users create admin --name "Quản trị" --role admin' in out
    _print_dashboard("127.0.0.1", 5000, default_data_dir(), admin_exists=False)
    out = capsys.readouterr().out
    assert "\n  hotline users create admin" in out and "office network" not in out
    _print_dashboard("0.0.0.0", 5000, tmp_path, admin_exists=True)
    assert "users create" not in capsys.readouterr().out


# --- the data folder and a missing database ---------------------------------------------


def test_every_command_finds_the_same_data_folder_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert default_data_dir() == ROOT / "instance"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOTLINE_", "FLASK_")) or k == "HOTLINE_CLOCK_OFFSET_SECONDS"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


@pytest.mark.parametrize("args", [["tickets", "list"], ["users", "create", "admin", "--name", "A"],
                                  ["import", "teams", "teams.csv"], ["outbox"], ["relay", "--once"]])
def test_a_command_with_no_database_says_so_in_one_line_and_creates_nothing(tmp_path, args):
    (tmp_path / "teams.csv").write_text("code,name\nT01,Tổ 1\n", encoding="utf-8")
    data = tmp_path / "data"
    result = CliRunner().invoke(cli, args, env=_env(HOTLINE_DATA_DIR=str(data)), input="",
                                catch_exceptions=False, standalone_mode=True)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert lines == [f"Error: no hotline database at {data / 'hotline.db'}: start the hotline once with "
                     "`hotline up` (or run `hotline db upgrade`), or name the data folder with "
                     "HOTLINE_DATA_DIR"]
    assert not data.exists()  # no empty database, no data folder, no secrets


def test_an_empty_sqlite_file_or_an_unmigrated_database_is_named_too(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "hotline.db").touch()
    result = CliRunner().invoke(cli, ["tickets", "list"], env=_env(HOTLINE_DATA_DIR=str(data)))
    assert result.exit_code == 1 and result.output.startswith("Error: no hotline database at sqlite:///")
    assert len(result.output.strip().splitlines()) == 1


def test_the_console_script_from_another_folder_after_a_migration(tmp_path):
    """`hotline db upgrade` in one folder, `hotline tickets list` from another: one database."""
    data = tmp_path / "data"
    env = _env(HOTLINE_DATA_DIR=str(data))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    hotline = [sys.executable, "-m", "hotline"]
    missing = subprocess.run([*hotline, "tickets", "list"], env=env, cwd=elsewhere, capture_output=True,
                             text=True, timeout=120)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    upgraded = subprocess.run([*hotline, "db", "upgrade"], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    listed = subprocess.run([*hotline, "tickets", "list", "--json"], env=env, cwd=elsewhere,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0 and listed.stdout.strip() == "[]", listed.stderr
    assert not (elsewhere / "instance").exists()
