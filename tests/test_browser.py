"""The public site in a real browser: Chromium (the Debian package), driven by Playwright.

A reader's journey (filter positions by a topic and a stance, follow one to its
highlighted passage, switch the interface to English and back), with and
without JavaScript; an axe-core accessibility scan of the main pages; and
screenshots at phone and desktop widths, written to $CSTO_SCREENSHOTS (default
.local/screenshots) for a person to look at.

Skipped when Chromium or Playwright is missing, unless CSTO_REQUIRE_BROWSER is
set (CI sets it): then a missing browser is a failure.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
SHOTS = Path(os.environ.get("CSTO_SCREENSHOTS", ROOT / ".local" / "screenshots"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser
ADMIN_PASSWORD = "a-long-browser-test-password"
# An editor (not a publisher), two drafts of the first demo release to annotate (one
# with an emoji, two UTF-16 units per code point, and an RLM before the text) and one of
# the second, and one more of the first to annotate completely (public identifiers 3–6).
DESK_SETUP = f"""
from django.contrib.auth.models import Group, User
from statements.models import Release
editor = User.objects.create_user("editor", password="{ADMIN_PASSWORD}", is_staff=True)
editor.groups.add(Group.objects.get(name="editors"))
seed = Release.objects.get(public_id=1)
for title, before in (("مسودة للتعليق", ""), ("مسودة برمز تعبيري", "🇷🇺 تمهيد\\u200f قصير.\\n")):
    Release.objects.create(title=title, body=before + seed.body, source=seed.source)
other = Release.objects.get(public_id=2)
Release.objects.create(title="مسودة ثانية للتعليق", body=other.body, source=other.source)
Release.objects.create(title="مسودة ثالثة للتعليق", body=seed.body, source=seed.source)
"""


def chromium_path():
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    executable = chromium_path()
    if sync_playwright is None or executable is None:
        message = "needs Chromium (apt-get install chromium) and the playwright package"
        if os.environ.get("CSTO_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The demo archive served as ``./dev serve`` serves it, in its own process and its
    own SQLite file (the browser sees only HTTP; the databases are tested elsewhere)."""
    folder = tmp_path_factory.mktemp("site")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(SQLITE_PATH=str(folder / "db.sqlite3"), DJANGO_DEBUG="1")
    manage = [sys.executable, str(ROOT / "manage.py")]
    password = folder / "admin-password"
    password.write_text(ADMIN_PASSWORD, encoding="utf-8")
    for command in (
        ["migrate", "--verbosity", "0"],
        ["load_demo"],
        ["ensure_admin", "admin", "--password-file", str(password)],
        ["shell", "--no-imports", "-c", DESK_SETUP],
    ):
        subprocess.run(manage + command, env=env, check=True, capture_output=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(url + "/healthz/", timeout=1):  # noqa: S310 - http://127.0.0.1
                    break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the site did not start: " + (folder / "server.log").read_text())
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def open_page(browser, url, *, width=1280, javascript=True, language=None, bypass_csp=False):
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        java_script_enabled=javascript,
        bypass_csp=bypass_csp,  # only to inject the test's own axe-core
    )
    if language:
        context.add_cookies([{"name": "django_language", "value": language, "url": url}])
    page = context.new_page()
    response = page.goto(url)
    assert response.status == 200, url
    return page


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_a_reader_finds_what_the_csto_said_about_afghanistan(browser, site, javascript):
    page = open_page(browser, site + "/positions/", javascript=javascript)
    # Filter by a place and a stance with the form, as a reader would.
    page.select_option("#id_place", "afghanistan")
    page.select_option("#id_stance", "concern")
    page.get_by_role("button", name="تطبيق").click()
    page.wait_for_load_state()
    assert "place=afghanistan" in page.url and "stance=concern" in page.url
    items = page.locator("ol.position-list > li")
    assert items.count() == 1
    assert "أفغانستان" in items.first.locator("blockquote").inner_text()
    # Two chips, each removing its own filter.
    assert page.locator(".chips li:not(.clear)").count() == 2

    # Follow the result to its passage, highlighted in the release's text.
    items.first.get_by_role("link", name="المقطع").first.click()
    page.wait_for_load_state()
    assert "/r/" in page.url and page.url.endswith("#p2")
    passage = page.locator("mark#p2")
    assert passage.is_visible()
    assert "أفغانستان" in passage.inner_text()
    # Where it was reported: the source and its relay.
    assert "سانا" in page.locator("dl.record").inner_text()

    # Switch to English and back: the same page, the texts still Arabic and RTL.
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "ltr"
    assert page.locator("h2#positions-heading").inner_text() == "Positions"
    assert page.locator(".release-body").get_attribute("dir") == "rtl"
    assert "/r/" in page.url
    page.get_by_role("link", name="العربية").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize(
    ("language", "place", "source"),
    [("ar", "أفغانستان", "سانا"), ("en", "Afghanistan", "SANA")],
)
def test_afghanistan_in_three_clicks(browser, site, javascript, width, language, place, source):
    """What did the CSTO say about Afghanistan, and where was it reported?"""
    page = open_page(browser, site + "/", width=width, javascript=javascript, language=language)
    page.get_by_role("link", name=place, exact=True).first.click()  # 1: the topic
    page.wait_for_load_state()
    items = page.locator("ol.position-list > li")
    assert items.count() == 2
    for item in items.all():
        assert "أفغانستان" in item.locator("blockquote").inner_text()  # what was said
        assert source in item.locator(".meta").inner_text()  # where it was reported
    items.first.locator(".meta a").first.click()  # 2: the passage in its release
    page.wait_for_load_state()
    assert page.locator("mark:target").is_visible()
    page.context.close()


def test_facet_links_filter_without_the_form(browser, site):
    page = open_page(browser, site + "/positions/")
    page.locator(".facet a", has_text="أفغانستان").first.click()
    page.wait_for_load_state()
    count = int(page.locator(".facet a[aria-current] .count").first.inner_text())
    assert page.locator("ol.position-list > li").count() == count == 2
    page.context.close()


def test_the_passage_card_opens_on_keyboard_focus(browser, site):
    page = open_page(browser, site + "/r/1/")
    card = page.locator("#card-p1")
    assert not card.is_visible()
    page.locator('.passage-number[aria-describedby="card-p1"]').focus()
    assert card.is_visible()
    assert "يؤيد" in card.inner_text()
    # Escape hides it where it is (WCAG 1.4.13); the next focus shows a card again.
    page.keyboard.press("Escape")
    assert not card.is_visible()
    page.locator('.passage-number[aria-describedby="card-p2"]').focus()
    assert page.locator("#card-p2").is_visible()
    page.context.close()


PAGES = {
    "home": "/",
    "releases": "/releases/",
    "positions": "/positions/?place=middle-east&stance=affirms",
    "search": "/positions/?q=%D8%A7%D9%84%D8%A5%D8%B1%D9%87%D8%A7%D8%A8",
    "empty": "/positions/?stance=rejects&place=palestine",
    "release": "/r/1/",  # the first demo release, in a fresh database
    "topic": "/topics/syria/",
    "topics": "/topics/",
    "version": "/r/1/v/1/",
    "changes": "/r/1/changes/",
}


@pytest.mark.parametrize("language", ["ar", "en"])
def test_no_serious_accessibility_violations(browser, site, language):
    script = AXE.read_text(encoding="utf-8")
    found = {}
    for name, path in PAGES.items():
        page = open_page(browser, site + path, language=language, bypass_csp=True)
        page.add_script_tag(content=script)
        results = page.evaluate(
            "async () => await axe.run(document, {resultTypes: ['violations']})"
        )
        serious = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in results["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            found[name] = serious
        page.context.close()
    assert not found, found


@pytest.mark.parametrize("width", [360, 375, 1280])
def test_screenshots(browser, site, width):
    """Pages from the narrowest phone to a desktop: nothing wider than the screen."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for language in ("ar", "en"):
        for name in ("home", "positions", "release", "topic"):
            page = open_page(browser, site + PAGES[name], width=width, language=language)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} ({language}) is {overflow}px wider than {width}px"
            page.screenshot(path=str(SHOTS / f"{name}-{language}-{width}.png"), full_page=True)
            page.context.close()


@pytest.mark.parametrize("language", ["ar", "en"])
def test_a_journalist_copies_a_citation(browser, site, language):
    """Open position 2's citation on the release page and copy it: the clipboard holds
    exactly the citation shown, pinned to the version read."""
    page = open_page(browser, site + "/r/1/", language=language)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page.locator("#position-2 details.cite-position summary").click()
    for cited in ("ar", "en"):
        button = page.locator(f'button[data-copy="cite-{cited}-2"]')
        assert button.is_visible()
        button.click()
        copied = page.evaluate("() => navigator.clipboard.readText()")
        shown = page.locator(f"#cite-{cited}-2").inner_text().strip()
        assert copied == page.locator(f"#cite-{cited}-2").text_content().strip()
        assert "/r/1/v/1/#p2" in copied and shown
        page.wait_for_function(
            "b => b.textContent !== b.getAttribute('data-label')", arg=button.element_handle()
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#position-2").screenshot(path=str(SHOTS / f"citation-{language}.png"))
    page.context.close()


def test_citations_without_javascript_are_text_to_select(browser, site):
    page = open_page(browser, site + "/r/1/", javascript=False)
    assert not page.locator('button[data-copy="cite-en-release"]').is_visible()
    assert "/r/1/v/1/" in page.locator("#cite-en-release").inner_text()
    page.context.close()


def csp_violations(page):
    """Collect what the browser refuses under the Content-Security-Policy."""
    found = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text
            else None
        ),
    )
    return found


def test_no_page_breaks_the_content_security_policy(browser, site):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused = csp_violations(page)
    for path in PAGES.values():
        page.goto(site + path)
        page.wait_for_load_state("load")
    # The editorial desk too: log in, a changelist, a change form, an add form.
    page.goto(site + "/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_load_state("load")
    for path in (
        "/admin/",
        "/admin/statements/release/",
        "/admin/statements/release/1/change/",
        "/admin/statements/release/1/annotate/",
        "/admin/statements/release/1/changes/",
        "/admin/statements/release/import/",
        "/admin/statements/position/add/",
        "/admin/statements/topic/",
    ):
        response = page.goto(site + path)
        assert response.status == 200, path
        page.wait_for_load_state("load")
    assert not refused, refused
    context.close()
