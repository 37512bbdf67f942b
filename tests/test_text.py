"""Ingest sanitation and passage anchoring (statements.text): pure functions."""

import unicodedata

import pytest

from statements import text


class TestSanitize:
    def test_canonical_text_is_unchanged(self):
        body = "أعربت المنظمة عن قلقها.\nوأكدت دعمها."
        clean, report = text.sanitize(body)
        assert clean == body
        assert not report.changed
        assert report.messages() == []

    @pytest.mark.parametrize("control", sorted(text.BIDI_CONTROLS))
    def test_bidi_controls_are_stripped_and_reported(self, control):
        clean, report = text.sanitize(f"منظمة{control} الأمن")
        assert clean == "منظمة الأمن"
        assert report.removed[control] == 1
        assert any(f"U+{ord(control):04X}" in m for m in report.messages())

    def test_rlo_in_a_title_is_removed_and_named(self):
        # arabic.md case 12: a U+202E is stored without it, and the editor is told.
        clean, report = text.sanitize_line("بيان\u202e المنظمة")
        assert "\u202e" not in clean
        assert report.messages() == ["removed 1 × U+202E RLO"]

    def test_line_endings_become_lf(self):
        clean, report = text.sanitize("سطر أول\r\nسطر ثان\rسطر ثالث")
        assert clean == "سطر أول\nسطر ثان\nسطر ثالث"
        assert report.line_endings_normalized == 2

    def test_bom_nul_and_c0_c1_controls_are_stripped_but_tab_and_newline_kept(self):
        clean, report = text.sanitize("\ufeffأ\x00ب\x07ج\x85د\tهـ\nو")
        assert clean == "أبجد\tهـ\nو"
        assert sum(report.removed.values()) == 4

    def test_invisible_joiners_and_marks_are_kept_and_reported(self):
        body = "نص\u200fب\u200cمحارف\u200d\u061c\u200e"
        clean, report = text.sanitize(body)
        assert clean == body
        assert not report.changed
        assert set(report.invisible_kept) == {"\u200f", "\u200c", "\u200d", "\u061c", "\u200e"}
        assert len(report.messages()) == 5

    @pytest.mark.parametrize("ch, name", [("\u200b", "ZWSP"), ("\u2060", "WJ"), ("\u00ad", "SHY")])
    def test_invisible_spaces_and_soft_hyphens_are_kept_and_reported(self, ch, name):
        """A zero-width space, word joiner or soft hyphen pasted from a web page is
        invisible in the text: it is kept (the text is the source's) and named to the
        editor, never passed over in silence."""
        body = f"منظمة{ch}معاهدة الأمن"
        clean, report = text.sanitize(body)
        assert clean == body
        assert report.invisible_kept == {ch: 1}
        assert [m for m in report.messages() if f"U+{ord(ch):04X} {name}" in m]

    def test_result_is_nfc_and_change_is_reported(self):
        decomposed = "ا\u0653"  # alef + madda above, NFC composes it to آ
        clean, report = text.sanitize(decomposed)
        assert clean == "آ"
        assert report.nfc_changed

    def test_never_nfkc(self):
        # NFKC would turn the presentation form into plain letters: the canonical
        # text keeps what the source wrote.
        body = "ﻣﻨﻈﻤﺔ ﷺ"
        clean, _ = text.sanitize(body)
        assert clean == unicodedata.normalize("NFC", body)
        assert clean != unicodedata.normalize("NFKC", body)

    def test_lone_surrogate_is_refused(self):
        with pytest.raises(text.TextError, match="position 3"):
            text.sanitize("abc\udcff")

    def test_trim_is_reported(self):
        clean, report = text.sanitize("  نص  \n")
        assert clean == "نص"
        assert report.trimmed

    def test_translate_hook_is_used_for_messages(self):
        _, report = text.sanitize("\u202eنص")
        catalog = {"removed %(count)d × %(char)s": "حُذف %(char)s (%(count)d)"}
        assert report.messages(lambda s: catalog.get(s, s)) == ["حُذف U+202E RLO (1)"]


class TestAnchor:
    BODY = "قال 👍 إن «المنظمة» تدعم الحوار"

    def test_utf16_offsets_become_code_points_after_an_emoji(self):
        # arabic.md case 13: the browser's offset 11 is code point 10.
        assert text.utf16_to_codepoints(self.BODY, 11) == 10
        assert self.BODY[10:17] == "المنظمة"
        assert text.utf16_to_codepoints(self.BODY, 18) == 17

    def test_utf16_offset_inside_a_surrogate_pair_is_refused(self):
        with pytest.raises(ValueError, match="splits"):
            text.utf16_to_codepoints(self.BODY, 5)

    def test_utf16_offset_past_the_end_is_refused(self):
        with pytest.raises(ValueError, match="past the end"):
            text.utf16_to_codepoints(self.BODY, 500)

    def test_matching_quote_is_accepted(self):
        assert text.anchor_problem(self.BODY, 10, 17, "المنظمة") is None

    @pytest.mark.parametrize(
        ("start", "end", "quote", "message"),
        [
            (10, 17, "المنظمه", "not the text"),
            (17, 10, "", "end after"),
            (-1, 3, "x", "negative"),
            (10, 99, "المنظمة", "end of the text"),
            (9, 17, "«المنظمة", None),
            (8, 17, " «المنظمة", "space"),
        ],
    )
    def test_problems(self, start, end, quote, message):
        problem = text.anchor_problem(self.BODY, start, end, quote)
        if message is None:
            assert problem is None
        else:
            assert message in problem

    def test_offsets_inside_a_combining_sequence_are_refused(self):
        body = "الرَّئِيسُ قال"
        # Start on the shadda (a combining mark) rather than on the letter.
        assert "starts inside" in text.anchor_problem(body, 3, 10, body[3:10])
        # End between the letter and its fatha.
        assert "ends inside" in text.anchor_problem(body, 0, 3, body[0:3])

    def test_context_is_32_code_points_each_side(self):
        body = "أ" * 50 + "المنظمة" + "ب" * 50
        prefix, suffix = text.context(body, 50, 57)
        assert prefix == "أ" * 32
        assert suffix == "ب" * 32


def test_the_analyzer_is_safe_in_threads():
    """gunicorn's threaded workers (and runserver) analyze in several threads at once. One
    shared Snowball stemmer crashed under the load test (IndexError inside the stemmer: its
    state is per call), which readers saw as a 500."""
    import threading

    from statements import analysis

    words = [f"{stem}{suffix}" for stem in ("المنظمات", "الإرهابيين", "السوريون", "كازاخستانية")
             for suffix in ("", "ها", "هم", "ات", "ين")]  # fmt: skip
    expected = {word: analysis._stem(word) for word in words}
    errors, results = [], []

    def work(seed):
        try:
            for i in range(4000):
                word = words[(seed * 7 + i) % len(words)]
                results.append(analysis._stem(word) == expected[word])
        except Exception as error:  # the failure under test
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(results) and len(results) == 8 * 4000


def test_the_fast_path_knows_every_character_sanitation_touches():
    """sanitize() skips its per-character loop when a regex finds nothing to do: the regex
    must match exactly the characters the loop removes or reports."""
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        ch = chr(code)
        touched = (
            ch in text.BIDI_CONTROLS
            or ch == text.BOM
            or text._is_stripped_control(ch)
            or ch in text.INVISIBLE_KEPT
        )
        assert bool(text._SPECIAL.match(ch)) == touched, f"U+{code:04X}"


@pytest.mark.parametrize("position", [0, 5, 11])
def test_a_lone_surrogate_is_refused_with_its_position(position):
    raw = "منظمة معاهدة"[:position] + "\udc80" + "منظمة معاهدة"[position:]
    with pytest.raises(text.TextError, match=f"at position {position}"):
        text.sanitize(raw)
