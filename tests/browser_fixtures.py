"""Fixtures for tests that drive Debian's Chromium with Playwright (never `playwright install`):
the app served on a local port, a browser, and a page logged in as one staff member.
A test module gets them with `from tests.browser_fixtures import *`."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from hotline.extensions import db
from tests.staff_fixtures import PASSWORD

__all__ = ["CHROMIUM", "app", "browser", "database_url", "needs_chromium", "page_for", "phone_for", "server"]

#: A phone's screen (CSS pixels), the width every dashboard page must fit.
PHONE_WIDTH, PHONE_HEIGHT = 390, 844

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

needs_chromium = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed"
)


@pytest.fixture
def database_url(sqlite_database):
    """One database is enough here: the same views are covered on both by the other tests."""
    return sqlite_database


@pytest.fixture
def app(app_factory):
    app = app_factory(STAFF_QUEUE_REFRESH_SECONDS=1)
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def server(app):
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def page_for(browser, server, username):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="vi-VN")
    page = context.new_page()
    page.goto(f"{server}/staff/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/staff/")
    return page


def phone_for(browser, server, username: str | None, *, microphone: bool = False):
    """A 390×844 touch phone in Vietnamese on the login page, logged in as `username` (None:
    stays there); `microphone`: the site may use it (the browser's fake one)."""
    context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": PHONE_HEIGHT}, is_mobile=True,
                                  has_touch=True, locale="vi-VN")
    if microphone:
        context.grant_permissions(["microphone"], origin=server)
    page = context.new_page()
    page.goto(f"{server}/staff/login")
    if username:
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.tap("button[type=submit]")
        page.wait_for_url(f"{server}/staff/")
    return page
