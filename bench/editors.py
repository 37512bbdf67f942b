"""Editors saving releases through the admin while readers load the site (bench/load.py).

Each editor is a thread with its own session. It logs in, then until the deadline
opens the change page of one of a few published releases (few, so that editors
collide), adds a marked sentence at the start of the body and a marker to the
title, and saves, posting every field of the form as a browser would (the inline
positions and the revision the page was loaded at included). Each save is:

* **saved** — the admin redirected: the edit is acknowledged;
* **refused** — the form came back with the conflict message (someone saved first);
* **unknown** — an error answer or no answer (e.g. the database restarting): the edit
  may or may not have committed.

:func:`verify` then checks in the database that nothing acknowledged was lost and
nothing refused was written: every saved marker is in the release's history and,
in order, in its final text; no refused marker is anywhere; every position's quote
is at its offsets or the position is orphaned; the edited releases' listing copies and
counts are in step; the last public version shows the final text.
"""

import http.client
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit


class FormParser(HTMLParser):
    """The fields of ``<form id=...>`` as a browser would submit them (no submit buttons)."""

    def __init__(self, form_id):
        super().__init__(convert_charrefs=True)
        self.form_id, self.inside, self.fields = form_id, False, []
        self.textarea = self.select = None
        self.option = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append([name, attrs.get("value", "on" if kind == "checkbox" else "")])
        elif tag == "textarea" and name:
            self.textarea = [name, ""]
            self.fields.append(self.textarea)
        elif tag == "select" and name:
            self.select = {"name": name, "first": None, "chosen": False}
        elif tag == "option" and self.select is not None:
            value = attrs.get("value", "")
            if self.select["first"] is None:
                self.select["first"] = value
            if "selected" in attrs:
                self.fields.append([self.select["name"], value])
                self.select["chosen"] = True

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "textarea" and self.textarea is not None:
            # As a browser: the newline just after <textarea> is not content, and line
            # breaks are sent as CRLF.
            value = self.textarea[1].removeprefix("\n")
            self.textarea[1] = value.replace("\r\n", "\n").replace("\n", "\r\n")
            self.textarea = None
        elif tag == "select" and self.select is not None:
            self.select = None

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1] += data


class Session:
    """A cookie-keeping HTTP client for one editor (the cookies are Secure in production
    settings; this client sends them to 127.0.0.1 over plain HTTP anyway)."""

    def __init__(self, base):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookies = {}

    def request(self, method, path, data=None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {"Host": f"{self.host}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            pairs = data.items() if isinstance(data, dict) else data
            body = urlencode([tuple(item) for item in pairs]).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, response.headers, content


@dataclass
class Outcomes:
    saved: list = field(default_factory=list)  # (release pk, marker)
    refused: list = field(default_factory=list)
    unknown: list = field(default_factory=list)
    other: list = field(default_factory=list)  # (release pk, status, excerpt): a bug
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind, item):
        with self.lock:
            getattr(self, kind).append(item)


def login(session, admin_path, username, password):
    status, _headers, page = session.request("GET", f"/{admin_path}login/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if status != 200 or not token:
        raise RuntimeError(f"no login form at /{admin_path}login/ ({status})")
    status, _headers, _page = session.request(
        "POST",
        f"/{admin_path}login/",
        {
            "csrfmiddlewaretoken": token.group(1),
            "username": username,
            "password": password,
            "next": f"/{admin_path}",
        },
    )
    if status != 302:
        raise RuntimeError(f"login as {username} failed ({status})")


def edit_once(session, admin_path, pk, name, outcomes):
    marker = f"{name}-{uuid.uuid4().hex[:8]}"
    path = f"/{admin_path}statements/release/{pk}/change/"
    try:
        status, _headers, page = session.request("GET", path)
        if status != 200:
            outcomes.add("unknown", (pk, None, status))
            return
        parser = FormParser("release_form")
        parser.feed(page)
        fields = parser.fields
        for item in fields:
            if item[0] == "title":
                item[1] = re.sub(r"\s*\[[^\]]*\]$", "", item[1]) + f" [{marker}]"
            elif item[0] == "body":
                item[1] = f"تعديل {marker}.\r\n" + item[1]
        fields.append(["_continue", "1"])
        status, _headers, page = session.request("POST", path, fields)
    except (OSError, http.client.HTTPException) as error:
        outcomes.add("unknown", (pk, marker, repr(error)))
        return
    if status == 302:
        outcomes.add("saved", (pk, marker))
    elif status == 200 and any(f"/{pk}/changes/" in errors for errors in error_lists(page)):
        outcomes.add("refused", (pk, marker))  # the conflict message links to the changes
    elif status >= 500:
        outcomes.add("unknown", (pk, marker, status))
    else:
        outcomes.add("other", (pk, status, error_lists(page)[:3]))


def error_lists(page):
    return re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)


def run(base, admin_path, username, password, release_pks, editors, seconds, outcomes):
    """Start ``editors`` threads editing ``release_pks`` for ``seconds``; returns them."""
    deadline = time.monotonic() + seconds

    def editor(number):
        session = Session(base)
        rng = random.Random(number)
        for attempt in range(20):
            try:
                login(session, admin_path, username, password)
                break
            except (OSError, RuntimeError, http.client.HTTPException):
                if attempt == 19:
                    raise
                time.sleep(1)
        while time.monotonic() < deadline:
            pk = rng.choice(release_pks)
            try:
                edit_once(session, admin_path, pk, f"e{number}", outcomes)
            except Exception as error:  # a bug in this script or the site: reported, not lost
                outcomes.add("other", (pk, "exception", repr(error)))
            time.sleep(rng.uniform(0.2, 1.0))

    threads = [threading.Thread(target=editor, args=(n,), daemon=True) for n in range(editors)]
    for thread in threads:
        thread.start()
    return threads


def verify(outcomes):
    """Problems found in the database after the run (empty: none). Runs under Django."""
    from statements import listing
    from statements.models import Release

    problems = [f"unexpected answer: {item}" for item in outcomes.other]
    saved, refused, unknown = {}, {}, {}
    for kind, target in (("saved", saved), ("refused", refused), ("unknown", unknown)):
        for item in getattr(outcomes, kind):
            if item[1]:
                target.setdefault(item[0], set()).add(item[1])
    for pk in set(saved) | set(refused) | set(unknown):
        release = Release.objects.get(pk=pk)
        titles = list(release.history.order_by("history_date").values_list("title", flat=True))
        written = {m for t in titles for m in re.findall(r"\[([^\]]+)\]$", t or "")}
        for marker in saved.get(pk, ()):
            if marker not in written:
                problems.append(f"release {pk}: acknowledged edit {marker} not in its history")
            if f"تعديل {marker}." not in release.body:
                problems.append(f"release {pk}: acknowledged edit {marker} not in its text")
        for marker in refused.get(pk, ()):
            if marker in written or marker in release.body:
                problems.append(f"release {pk}: refused edit {marker} was written")
        # Markers in the text appear newest first; each one once.
        in_text = re.findall(r"تعديل (e\d+-[0-9a-f]{8})\.", release.body)
        if len(in_text) != len(set(in_text)):
            problems.append(f"release {pk}: an edit is in its text twice")
        for position in release.positions.all():
            if (
                not position.orphaned
                and release.body[position.start : position.end] != position.quote
            ):
                problems.append(f"release {pk}: position {position.number} is not at its offsets")
        latest = release.latest_version()
        if latest is None or latest.snapshot["body"] != release.body:
            problems.append(f"release {pk}: its last public version is not its text")
    # The copies and counts those edits can have put out of step (the whole check
    # recounts every release: most of an hour at 100,000).
    touched = sorted(set(saved) | set(refused) | set(unknown))
    problems += [f"listing copies: {p}" for p in listing.drift(limit=10, releases=touched)]
    return problems
