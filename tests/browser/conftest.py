"""Browser tests: Playwright (sync API) driving Debian's Chromium against pytest-django's
`live_server` on the test database.

Mark tests `@pytest.mark.browser` and `@pytest.mark.django_db(transaction=True)` (the live
server runs in another thread, so test data must be committed). Every page a test opens is
watched: console errors, uncaught exceptions and Content-Security-Policy violations fail
the test, and so does any request for anything outside the machine, which never gets out
(Loupe works offline; `NOWHERE`).
"""

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Loupe works offline: the browser sends everything but loopback to a proxy that is not there
# (port 9, discard), so no request can leave, and each one that tried fails the test
# (`outside`). No per-request interception: Playwright's routing would turn off the HTTP cache
# and pass every request through this process.
NOWHERE = {"server": "http://127.0.0.1:9", "bypass": "127.0.0.1,localhost"}
VIEWPORT = {"width": 1366, "height": 768}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (make chromium installs Debian's)")
    # Playwright's sync API runs an event loop in this thread; Django would then refuse ORM
    # calls from the test body as "async unsafe". The tests are plain synchronous code.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, proxy=NOWHERE)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploads (clips, posters, packshots) of each test in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def settle(page):
    """Leave the page before the test's settings are undone (clips may still stream)."""
    yield
    page.goto("about:blank")
    page.wait_for_timeout(200)


@pytest.fixture
def quick_refresh(settings):
    """The work home and the console refresh every second (not every 10 s and 5 s), for the
    tests that wait for a refresh."""
    settings.WORK_REFRESH_S = 1
    settings.CONSOLE_REFRESH_S = 1


@pytest.fixture(scope="session")
def shared_page(browser, live_server) -> Iterator:
    """One tab for the whole session: a new context and tab start a renderer process, about
    1.2 CPU-seconds of Chromium's each; `page` gives every test this tab as new."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url)
    page = context.new_page()
    page.problems = []
    page.base_url = live_server.url
    # A failed request's console error names no URL in its text; its location does.
    page.on(
        "console",
        lambda msg: (
            page.problems.append(f"console {msg.type}: {msg.text} ({msg.location.get('url', '')})")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda request: outside(page, request))
    yield page
    context.close()


def outside(page, request) -> None:
    """A failed request to anywhere but the live server (the proxy above refused it)."""
    local = request.url.startswith(("data:", "blob:"))
    if not local and urlsplit(request.url).netloc != urlsplit(page.base_url).netloc:
        page.problems.append(f"request outside Loupe: {request.url} ({request.failure})")


@pytest.fixture
def page(shared_page, live_server) -> Iterator:
    """The session's tab, as new: 1366x768, no cookies or stored data of Loupe's, no routes
    or listeners of an earlier test; problems collected in `page.problems`."""
    page = shared_page
    page.problems = []
    page.set_viewport_size(VIEWPORT)
    page.set_default_timeout(10_000)
    page.context.clear_cookies()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Storage.clearDataForOrigin", {"origin": live_server.url, "storageTypes": "all"})
    cdp.detach()
    added: list = []

    def on(event: str, handler) -> None:  # the test's own listeners, removed after it
        added.append((event, handler))
        type(page).on(page, event, handler)

    page.on = on
    yield page
    del page.on
    for event, handler in added:
        page.remove_listener(event, handler)
    page.unroute_all(behavior="ignoreErrors")


def assert_clean(page) -> None:
    """No console errors, uncaught exceptions, CSP violations or requests leaving Loupe."""
    assert not page.problems, "\n".join(page.problems)


def sign_in(page, user, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person does (the tests of the form itself use this)."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def login(page, user) -> None:
    """Give the browser a signed-in session of `user`, made on the server by Django's own
    `login()` (its signals run as on the form): the tests that are not about signing in
    skip the form's three page loads. The page stays where it was; the test goes on."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": page.base_url}])


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path
