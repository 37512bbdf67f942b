"""The editorial desk in a real browser: an editor annotates a seed text by selecting it.

Chromium (the Debian package) driven by Playwright, against the demo archive
served as ``./dev serve`` serves it, with an editor and two drafts of seed 000
(tests/test_browser.py's ``site``; the second draft starts with an emoji and an
RLM). The passage is selected right to left, from inside its first word to inside its last;
screenshots of the annotation view go to $CSTO_SCREENSHOTS.
"""

import importlib
import json
from pathlib import Path

import pytest

from tests.test_browser import ADMIN_PASSWORD, SHOTS, browser, site  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

# Public identifiers of DESK_SETUP's drafts; each test annotates its own.
DRAFTS = {"plain": 3, "emoji": 4, "second": 5, "first": 6}
PASSAGE = "تسوية سياسية للأزمة في سورية"


def editor_page(browser, site):  # noqa: F811 - the fixtures, passed in
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(site + "/admin/login/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", ADMIN_PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_load_state("load")
    return page


def drag_select(page, phrase):
    """Select ``phrase`` in the text, from inside its first word to inside its last (the
    page must snap to whole words), and release the mouse over the text.

    The selection is set with the Selection API, as a mouse drag leaves it: Playwright's
    synthetic drags in Chromium proved unreliable to start inside shaped Arabic text.
    """
    found = page.evaluate(
        """phrase => {
          const text = document.getElementById('text');
          const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
          let node;
          while ((node = walker.nextNode())) {
            const at = node.data.indexOf(phrase);
            if (at === -1) continue;
            // Right to left: the anchor is where the phrase starts.
            getSelection().setBaseAndExtent(node, at + 1, node, at + phrase.length - 1);
            return getSelection().toString();
          }
          return null;
        }""",
        phrase,
    )
    assert found == phrase[1:-1], f"{phrase!r} is not in one text node of the page"
    box = page.locator("#text").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 20)
    page.locator("#text").dispatch_event("mouseup")


def choose_topic(page, query):
    page.fill("#topic-search", query)
    page.wait_for_selector("#topic-results li", state="visible")
    page.locator("#topic-results li").first.click()


def highlighted(page, number):
    return page.evaluate(
        """n => [...document.querySelectorAll('#text .seg[data-p]')]
              .filter(s => s.dataset.p.split(' ').includes(String(n)))
              .map(s => s.textContent).join('')""",
        number,
    )


@pytest.mark.parametrize("draft", ["plain", "emoji"])
def test_an_editor_records_a_position_by_selecting_a_passage(browser, site, draft):  # noqa: F811
    page = editor_page(browser, site)
    url = f"{site}/admin/statements/release/{DRAFTS[draft]}/annotate/"
    response = page.goto(url)
    assert response.status == 200
    assert "مسودة" in page.locator("h1").inner_text()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # Select part of the first word to the middle of the last: the selection snaps to words.
    drag_select(page, PASSAGE)
    assert page.input_value("#id_quote") == PASSAGE
    start = int(page.input_value("#id_start"))
    assert int(page.input_value("#id_end")) - start == len(PASSAGE)
    page.keyboard.press("1")  # the first stance, by its shortcut
    assert page.locator('input[name="stance"][value="supports"]').is_checked()
    choose_topic(page, "سوريه")  # another spelling of سورية
    choose_topic(page, "terror")
    assert page.locator("#topic-chosen .chip").count() == 2
    page.fill("#id_summary", "تؤيد المنظمة التسوية السياسية في سورية")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"annotate-{draft}-panel.png"))
    page.keyboard.press("Control+Enter")
    page.wait_for_function(
        "() => document.getElementById('panel-status').textContent.includes('#p1')"
    )
    assert highlighted(page, 1) == PASSAGE
    page.screenshot(path=str(SHOTS / f"annotate-{draft}-saved.png"))

    # Persisted: after a reload the passage is still highlighted and listed, with its topics.
    page.reload()
    assert highlighted(page, 1) == PASSAGE
    item = page.locator("#pos-1")
    assert PASSAGE in item.locator(".quote").inner_text()
    assert item.locator(".topic").count() == 2

    # Clicking the highlighted passage picks its position for editing.
    page.locator('#text .seg[data-p="1"]').first.click()
    assert page.input_value('input[name="position"]') != ""
    assert page.locator("#panel-heading").inner_text().endswith("#p1")
    assert not errors, errors
    page.context.close()


def test_a_refusal_is_a_clear_message(browser, site):  # noqa: F811
    """A quote that does not match (typed by hand) is refused by the server, and said."""
    page = editor_page(browser, site)
    page.goto(f"{site}/admin/statements/release/{DRAFTS['plain']}/annotate/")
    drag_select(page, "الأمن الجماعي")
    page.fill("#id_quote", "الأمن الجماعى")  # a different letter
    page.locator('input[name="stance"]').nth(1).check()
    choose_topic(page, "سورية")
    page.fill("#id_summary", "ملخص")
    page.locator("#save-position").click()
    page.wait_for_function(
        "() => document.getElementById('panel-status').classList.contains('error')"
    )
    assert "لا يطابق النص" in page.locator("#panel-status").inner_text()
    assert page.locator("#annotation-form .js-error").count() >= 1
    page.context.close()


DEMO = json.loads(
    (Path(__file__).resolve().parents[1] / "statements/demo/demo.json").read_text("utf-8")
)
CODEBOOK = {
    slug: (name_ar, name_en)
    for slug, _kind, name_ar, name_en, *_rest in importlib.import_module(
        "statements.migrations.0002_starter_codebook"
    ).CODEBOOK
}


def select_quote(page, quote):
    """Select ``quote`` in the text across however many highlighted pieces it spans, from
    inside its first word to inside its last (the page snaps to whole words)."""
    found = page.evaluate(
        """quote => {
          const data = JSON.parse(document.getElementById('annotation-data').textContent);
          const at = data.body.indexOf(quote);
          if (at === -1 || data.body.indexOf(quote, at + 1) !== -1) return false;
          let start = Array.from(data.body.slice(0, at)).length;
          let end = start + Array.from(quote).length;
          const chars = Array.from(quote);
          if (/\\p{L}/u.test(chars[0]) && /\\p{L}/u.test(chars[1])) start += 1;
          if (/\\p{L}/u.test(chars.at(-1)) && /\\p{L}/u.test(chars.at(-2))) end -= 1;
          const point = cp => {
            for (const seg of document.querySelectorAll('#text .seg')) {
              const from = Number(seg.dataset.start);
              const units = Array.from(seg.textContent);
              if (cp >= from && cp < from + units.length) {
                return [seg.firstChild, units.slice(0, cp - from).join('').length];
              }
            }
            const last = [...document.querySelectorAll('#text .seg')].at(-1);
            return [last.firstChild, last.firstChild.length];
          };
          getSelection().setBaseAndExtent(...point(start), ...point(end));
          return true;
        }""",
        quote,
    )
    assert found, f"{quote[:30]!r}… is not once in the text"
    page.locator("#text").dispatch_event("mouseup")


def choose_named_topic(page, slug):
    name_ar, name_en = CODEBOOK[slug]
    page.fill("#topic-search", name_ar)
    option = page.locator("#topic-results li", has_text=f"{name_ar} — {name_en}").first
    option.wait_for(state="visible")
    option.click()


@pytest.mark.parametrize("draft", ["first", "second"])
def test_an_editor_annotates_a_seed_text_completely(browser, site, draft):  # noqa: F811
    """Every position of the demo archive's hand annotation, recorded again by selection on
    a draft of the same text: overlapping passages, passages spanning earlier highlights,
    two to four topics each, every stance by its key."""
    page = editor_page(browser, site)
    page.goto(f"{site}/admin/statements/release/{DRAFTS[draft]}/annotate/")
    body = json.loads(page.locator("#annotation-data").text_content())["body"]
    release = next(r for r in DEMO["releases"] if r["positions"][0]["quote"] in body)
    keys = json.loads(page.locator("#annotation-data").text_content())["stanceKeys"]
    for number, position in enumerate(release["positions"], start=1):
        if number == 1:
            # The keyboard way: type the passage in the find box, Enter selects it.
            page.fill("#find-input", position["quote"])
            page.locator("#find-input").press("Enter")
            page.locator('input[name="stance"]').first.focus()
        else:
            select_quote(page, position["quote"])
        assert page.input_value("#id_quote") == position["quote"], number
        page.keyboard.press(keys[position["stance"]])
        for slug in position["topics"]:
            choose_named_topic(page, slug)
        page.select_option("#id_attribution", position["attribution"])
        page.fill("#id_summary", position["summary"])
        page.locator("#save-position").click()
        page.wait_for_function(
            "n => document.getElementById('panel-status').textContent.includes('#p' + n)",
            arg=number,
        )
        assert highlighted(page, number) == position["quote"], number
    page.reload()
    assert page.locator(".positions .position").count() == len(release["positions"])
    for number, position in enumerate(release["positions"], start=1):
        item = page.locator(f"#pos-{number}")
        assert item.locator(".topic").count() == len(position["topics"]), number
        assert highlighted(page, number) == position["quote"], number
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"annotate-{draft}-complete.png"), full_page=True)
    page.context.close()
