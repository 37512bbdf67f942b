/* Annotation by selection (statements/admin_annotate.py).
 *
 * The text is rendered as spans (".seg"), each carrying the code point offset
 * of its first character (data-start). A DOM selection is in UTF-16 code
 * units; it is turned into code point offsets here, snapped to whole words,
 * and posted with the exact quote. The server checks everything again.
 * No dependencies, no build step.
 */
(function () {
  "use strict";

  const dataNode = document.getElementById("annotation-data");
  const textNode = document.getElementById("text");
  if (!dataNode || !textNode) return;
  const data = JSON.parse(dataNode.textContent);
  const chars = Array.from(data.body); // one entry per code point
  let positions = data.positions;

  const form = document.getElementById("annotation-form");
  const status = document.getElementById("panel-status");
  const WORD = /[\p{L}\p{M}\p{N}\u0640\u200c\u200d]/u;

  const isWord = (i) => i >= 0 && i < chars.length && WORD.test(chars[i]);
  const isSpace = (i) => /\s/u.test(chars[i] || "");
  const codePoints = (s) => Array.from(s).length;

  /* A DOM point (node, offset in UTF-16 units) as a code point offset in the body. */
  function toOffset(node, offset) {
    if (node.nodeType === Node.TEXT_NODE) {
      const seg = node.parentElement.closest(".seg");
      if (!seg || !textNode.contains(seg)) return null;
      return Number(seg.dataset.start) + codePoints(node.data.slice(0, offset));
    }
    if (node === textNode) {
      const child = textNode.childNodes[offset];
      return child && child.dataset ? Number(child.dataset.start) : chars.length;
    }
    const seg = node.closest && node.closest(".seg");
    if (!seg || !textNode.contains(seg)) return null;
    const start = Number(seg.dataset.start);
    return offset === 0 ? start : start + codePoints(seg.textContent);
  }

  /* Whole words: a selection that starts or ends inside a word takes all of it;
     spaces at either end are left out. */
  function snap(start, end) {
    if (start > end) [start, end] = [end, start];
    while (start > 0 && isWord(start) && isWord(start - 1)) start -= 1;
    while (end < chars.length && isWord(end - 1) && isWord(end)) end += 1;
    while (start < end && isSpace(start)) start += 1;
    while (end > start && isSpace(end - 1)) end -= 1;
    // Never start on a diacritic, never end before one (the server refuses both).
    while (start > 0 && /\p{M}/u.test(chars[start])) start -= 1;
    while (end < chars.length && /\p{M}/u.test(chars[end])) end += 1;
    return [start, end];
  }

  const quoteOf = (start, end) => chars.slice(start, end).join("");

  /* ---- the panel ---------------------------------------------------------- */

  const field = (name) => form && form.elements.namedItem(name);
  const heading = document.getElementById("panel-heading");
  const preview = document.getElementById("quote-preview");
  const cancelButton = document.getElementById("cancel-position");
  const deleteButton = document.getElementById("delete-position");
  const adjust = form && form.querySelector(".adjust");
  let current = null; // the position being edited, or null for a new one

  function say(message, isError) {
    if (!status) return;
    status.textContent = message;
    status.classList.toggle("error", Boolean(isError));
  }

  function setPassage(start, end) {
    field("start").value = start;
    field("end").value = end;
    field("quote").value = quoteOf(start, end);
    preview.textContent = quoteOf(start, end);
    preview.hidden = false;
    markSelection(start, end);
  }

  function markSelection(start, end) {
    for (const seg of textNode.querySelectorAll(".seg")) {
      const s = Number(seg.dataset.start);
      const e = s + codePoints(seg.textContent);
      seg.classList.toggle("chosen", s >= start && e <= end && end > start);
    }
  }

  function openNew(start, end) {
    if (!form) return;
    current = null;
    form.reset();
    field("position").value = "";
    field("expected_revision").value = "";
    setTopics([]);
    heading.textContent = heading.dataset.new;
    deleteButton.hidden = true;
    cancelButton.hidden = false;
    setPassage(start, end);
    highlightPicked(null);
    say("");
    form.querySelector('input[name="stance"]').focus({ preventScroll: true });
  }

  function openExisting(position) {
    if (!form) return;
    current = position;
    field("position").value = position.id;
    field("expected_revision").value = position.revision;
    for (const radio of form.querySelectorAll('input[name="stance"]')) {
      radio.checked = radio.value === position.stance;
    }
    field("summary").value = position.summary;
    field("attribution").value = position.attribution;
    field("note").value = position.note;
    setTopics(position.topics);
    heading.textContent = heading.dataset.edit + " #p" + position.number;
    deleteButton.hidden = false;
    cancelButton.hidden = false;
    if (position.orphaned) {
      // Its old offsets are not in the text: the editor selects the passage again.
      field("start").value = "";
      field("end").value = "";
      field("quote").value = position.quote;
      preview.textContent = position.quote;
      preview.hidden = false;
      markSelection(0, 0);
    } else {
      setPassage(position.start, position.end);
    }
    highlightPicked(position.number);
    say("");
  }

  function closePanel() {
    if (!form) return;
    current = null;
    form.reset();
    field("position").value = "";
    setTopics([]);
    preview.hidden = true;
    heading.textContent = heading.dataset.new;
    deleteButton.hidden = true;
    cancelButton.hidden = true;
    markSelection(0, 0);
    highlightPicked(null);
  }

  function highlightPicked(number) {
    for (const item of document.querySelectorAll(".positions .position")) {
      item.classList.toggle("picked", item.id === "pos-" + number);
    }
  }

  /* ---- topics: chosen chips, an autocomplete, and the real <select> ------- */

  const select = field("topics");
  const chosen = document.getElementById("topic-chosen");
  const search = document.getElementById("topic-search");
  const results = document.getElementById("topic-results");

  function setTopics(topics) {
    if (!select) return;
    for (const option of select.options) option.selected = false;
    chosen.replaceChildren();
    for (const topic of topics) addTopic(topic);
  }

  function addTopic(topic) {
    let option = Array.from(select.options).find((o) => o.value === String(topic.id));
    if (!option) {
      option = new Option(topic.label, topic.id);
      select.add(option);
    }
    if (option.selected) return;
    option.selected = true;
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip";
    chip.dataset.id = topic.id;
    chip.textContent = topic.label + " ×";
    chip.setAttribute("aria-label", topic.label + " — " + (chosen.dataset.remove || "×"));
    chip.addEventListener("click", () => {
      option.selected = false;
      chip.remove();
      search.focus();
    });
    chosen.append(chip);
  }

  let searchTimer = null;
  function searchTopics() {
    const q = search.value.trim();
    if (!q) {
      results.hidden = true;
      return;
    }
    fetch(data.topicsUrl + "?q=" + encodeURIComponent(q), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then((r) => r.json())
      .then((payload) => {
        results.replaceChildren();
        for (const topic of payload.results) {
          const item = document.createElement("li");
          item.setAttribute("role", "option");
          item.tabIndex = -1;
          item.dataset.id = topic.id;
          item.textContent = topic.label + " · " + topic.kind;
          item.addEventListener("click", () => pickResult(topic));
          item.addEventListener("keydown", (event) => {
            if (event.key === "Enter") {
              event.preventDefault();
              pickResult(topic);
            }
          });
          results.append(item);
        }
        results.hidden = payload.results.length === 0;
      })
      .catch(() => say(status.dataset.offline || "…", true));
  }

  function pickResult(topic) {
    addTopic(topic);
    search.value = "";
    results.hidden = true;
    search.focus();
  }

  if (select) {
    // With JavaScript, the chips and the search replace the long <select>.
    form.querySelector(".topics-select").hidden = true;
    search.hidden = false;
    search.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(searchTopics, 150);
    });
    search.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" && results.firstChild) {
        event.preventDefault();
        results.firstChild.focus();
      } else if (event.key === "Enter") {
        event.preventDefault();
        const first = results.firstChild;
        if (first && !results.hidden) first.click();
      }
    });
    results.addEventListener("keydown", (event) => {
      const item = document.activeElement;
      if (event.key === "ArrowDown" && item.nextSibling) item.nextSibling.focus();
      if (event.key === "ArrowUp") (item.previousSibling || search).focus();
    });
  }

  /* ---- selecting in the text ---------------------------------------------- */

  function selectionOffsets() {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
    const range = selection.getRangeAt(0);
    if (!textNode.contains(range.startContainer) || !textNode.contains(range.endContainer)) {
      return null;
    }
    const start = toOffset(range.startContainer, range.startOffset);
    const end = toOffset(range.endContainer, range.endOffset);
    if (start === null || end === null) return null;
    const [s, e] = snap(start, end);
    return e > s ? [s, e] : null;
  }

  function onSelect() {
    const offsets = selectionOffsets();
    if (!offsets || !form) return false;
    if (current && current.orphaned) {
      setPassage(offsets[0], offsets[1]); // placing an orphan again
    } else if (current) {
      setPassage(offsets[0], offsets[1]); // moving the passage of the picked position
    } else {
      openNew(offsets[0], offsets[1]);
    }
    return true;
  }

  textNode.addEventListener("mouseup", (event) => {
    if (onSelect()) return;
    const selection = window.getSelection();
    if (selection && !selection.isCollapsed) return;
    // A click on a highlighted passage picks its position (the shortest one under it).
    const hit = event.target.closest && event.target.closest(".seg[data-p]");
    if (!hit) return;
    const numbers = hit.dataset.p.split(" ").map(Number);
    const picked = positions
      .filter((p) => numbers.includes(p.number))
      .sort((a, b) => a.end - a.start - (b.end - b.start))[0];
    if (picked) openExisting(picked);
  });
  textNode.addEventListener("keyup", (event) => {
    if (event.shiftKey) onSelect(); // keyboard selection (caret browsing)
  });

  for (const name of ["start", "end"]) {
    const input = field(name);
    if (!input) continue;
    input.addEventListener("change", () => {
      const start = Number(field("start").value);
      const end = Number(field("end").value);
      if (Number.isInteger(start) && Number.isInteger(end) && end > start && end <= chars.length) {
        setPassage(start, end);
      }
    });
  }

  /* ---- find a passage by typing it (the keyboard way) --------------------- */

  const findInput = document.getElementById("find-input");
  let findFrom = 0;
  function findNext() {
    const needle = findInput.value.trim();
    if (!needle) return;
    const body = data.body;
    // Search in UTF-16 (String.indexOf), report in code points.
    let at = body.indexOf(needle, findFrom);
    if (at === -1) at = body.indexOf(needle);
    if (at === -1) {
      say(findInput.dataset.notFound || "—", true);
      return;
    }
    findFrom = at + needle.length;
    const start = codePoints(body.slice(0, at));
    const [s, e] = snap(start, start + codePoints(needle));
    if (current) setPassage(s, e);
    else openNew(s, e);
    const first = textNode.querySelector(".seg.chosen");
    if (first) first.scrollIntoView({ block: "center" });
  }
  if (findInput) {
    document.getElementById("find-next").addEventListener("click", findNext);
    findInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        findNext();
      }
    });
    findInput.addEventListener("input", () => {
      findFrom = 0;
    });
  }

  /* ---- word by word adjustments ------------------------------------------- */

  function wordBefore(i) {
    let j = i;
    while (j > 0 && !isWord(j - 1)) j -= 1;
    while (j > 0 && isWord(j - 1)) j -= 1;
    return j;
  }
  function wordAfter(i) {
    let j = i;
    while (j < chars.length && !isWord(j)) j += 1;
    while (j < chars.length && isWord(j)) j += 1;
    return j;
  }
  if (adjust) {
    adjust.hidden = false;
    adjust.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-adjust]");
      if (!button) return;
      let start = Number(field("start").value);
      let end = Number(field("end").value);
      if (!(end > start)) return;
      const how = button.dataset.adjust;
      if (how === "start-") start = wordBefore(start);
      if (how === "start+") start = Math.min(wordAfter(start), end);
      if (how === "end-") end = Math.max(wordBefore(end), start);
      if (how === "end+") end = wordAfter(end);
      [start, end] = snap(start, end);
      if (end > start) setPassage(start, end);
    });
  }

  /* ---- the list beside the text ------------------------------------------- */

  document.getElementById("position-list").addEventListener("click", (event) => {
    const button = event.target.closest("button.pick");
    if (!button) return;
    const position = positions.find((p) => p.number === Number(button.dataset.number));
    if (position) {
      openExisting(position);
      const first = textNode.querySelector(".seg.chosen");
      if (first) first.scrollIntoView({ block: "center" });
    }
  });

  /* ---- saving, deleting --------------------------------------------------- */

  function showErrors(payload) {
    for (const node of form.querySelectorAll(".js-error")) node.remove();
    for (const [name, messages] of Object.entries(payload.errors || {})) {
      const input = name === "__all__" ? null : form.querySelector('[name="' + name + '"]');
      const note = document.createElement("p");
      note.className = "errornote js-error";
      note.textContent = messages.join(" ");
      if (input) {
        const anchor = input.closest("fieldset, .field, .quote-field, .offsets") || input;
        anchor.append(note);
        input.setAttribute("aria-invalid", "true");
      }
    }
  }

  function applyFragments(payload) {
    textNode.innerHTML = payload.text_html;
    document.getElementById("position-list").innerHTML = payload.list_html;
    positions = payload.positions;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      body: body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then((response) =>
      response
        .json()
        .catch(() => ({ ok: false, message: response.status + " " + response.statusText }))
    );
  }

  if (form) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      for (const node of form.querySelectorAll("[aria-invalid]")) {
        node.removeAttribute("aria-invalid");
      }
      const wasNumber = current ? current.number : null;
      post(form.action, new FormData(form)).then((payload) => {
        showErrors(payload);
        say(payload.message, !payload.ok);
        if (!payload.ok) return;
        applyFragments(payload);
        const saved = positions.find((p) => p.number === wasNumber) || null;
        closePanel();
        say(payload.message, false);
        if (saved) highlightPicked(saved.number);
      });
    });

    cancelButton.addEventListener("click", () => {
      closePanel();
      say("");
    });

    deleteButton.addEventListener("click", () => {
      if (!current || !window.confirm(deleteButton.dataset.confirm)) return;
      const body = new FormData();
      body.append("csrfmiddlewaretoken", field("csrfmiddlewaretoken").value);
      body.append("position", current.id);
      body.append("expected_revision", current.revision);
      post(data.deleteUrl, body).then((payload) => {
        say(payload.message, !payload.ok);
        if (payload.ok) {
          applyFragments(payload);
          closePanel();
          say(payload.message, false);
        }
      });
    });

    /* Keyboard: 1–6 choose a stance, Ctrl+Enter saves, Escape cancels. */
    document.addEventListener("keydown", (event) => {
      const typing = event.target.closest("input[type=search], input[type=text], textarea");
      if (event.key === "Escape" && !cancelButton.hidden) {
        closePanel();
        say("");
        return;
      }
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
        return;
      }
      if (typing || event.ctrlKey || event.altKey || event.metaKey || cancelButton.hidden) return;
      const stance = Object.keys(data.stanceKeys).find((s) => data.stanceKeys[s] === event.key);
      if (stance) {
        const radio = form.querySelector('input[name="stance"][value="' + stance + '"]');
        if (radio) {
          radio.checked = true;
          radio.focus();
          event.preventDefault();
        }
      }
    });
  }
})();
