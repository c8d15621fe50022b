#!/usr/bin/env python3
"""Concurrent readers and writers against a running registry; counts what came back.

It starts nothing itself: run the server first (gunicorn as in the benchmark,
or `manage.py runserver`), with a superuser account, then for example:

    python scripts/loadtest.py --base-url http://127.0.0.1:8000 \\
        --username admin --password demo --readers 8 --writers 4 --seconds 30

Readers GET pages (--path, repeatable; default: the dashboard, the admin
index, the village list, /healthz). Writers write through the application:

- default, "create" mode: each write adds a village through the admin's add
  form (code LT-<run>-<writer>-<n>). At the end every acknowledged village
  must be readable: an acknowledged write that is gone is a LOST write.
- "counter" mode (--counter-url URL --counter-field NAME): each write opens
  the edit form at URL, adds 1 to the integer field NAME and posts the form
  back as a browser would. A redirect is a success; a page with the form again
  is a refusal (the app detected a concurrent edit). At the end the field must
  equal its first value plus the number of successes: otherwise a write was
  lost (last write wins). Use it on forms with a version check, e.g.
  --counter-url /villages/1/edit/ --counter-field households.

Safety: only loopback addresses are accepted as targets (127.0.0.0/8, ::1,
localhost); the run is bounded by --seconds and by --max-requests in total,
and stops by itself. Standard library only.

Exit status 0 when there was no 5xx, no transport error and no lost write;
1 otherwise. The summary is printed as JSON (--json) or as text.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import ipaddress
import json
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

DEFAULT_PATHS = ["/", "/admin/", "/admin/branches/village/", "/healthz"]
MAX_SECONDS = 600
MAX_REQUESTS = 100_000


class RefusedTarget(Exception):
    pass


def check_loopback(base_url: str) -> None:
    """Refuse anything that is not this machine."""
    host = urllib.parse.urlsplit(base_url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise RefusedTarget(f"cannot resolve {host!r}") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_loopback:
            raise RefusedTarget(f"{host} resolves to {address}, not a loopback address: refused")


class FormParser(HTMLParser):
    """The forms of a page: for each, its action and the values a browser would send."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._select_first = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {
                "action": a.get("action") or "",
                "method": (a.get("method") or "get").lower(),
                "fields": {},
                "names": set(),
            }
            self.forms.append(self._form)
        if self._form is None:
            return
        fields, names = self._form["fields"], self._form["names"]
        if tag == "input" and a.get("name"):
            kind = (a.get("type") or "text").lower()
            names.add(a["name"])
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            fields[a["name"]] = a.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select" and a.get("name"):
            self._select, self._select_first = a["name"], None
            names.add(a["name"])
        elif tag == "option" and self._select:
            value = a.get("value", "")
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                fields[self._select] = value
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            names.add(a["name"])
            fields[a["name"]] = ""

    def handle_endtag(self, tag):
        if tag == "select" and self._select and self._form is not None:
            if self._select not in self._form["fields"] and self._select_first is not None:
                self._form["fields"][self._select] = self._select_first
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = None

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form["fields"][self._textarea] += data


def form_with(html: str, name: str) -> dict | None:
    parser = FormParser()
    parser.feed(html)
    for form in parser.forms:
        if name in form["names"]:
            return form
    return None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


@dataclass
class Stats:
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    writes_ok: int = 0
    writes_refused: int = 0
    requests: int = 0
    acknowledged: list = field(default_factory=list)  # (url, code) of created records
    lock: threading.Lock = field(default_factory=threading.Lock)


class Session:
    """One browser: its own cookies, never following redirects (we count them)."""

    def __init__(self, base: str, stats: Stats, budget: threading.Semaphore, deadline: float):
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect
        )
        self.stats, self.budget, self.deadline = stats, budget, deadline

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline

    def request(self, path: str, data: dict | None = None, count: bool = True):
        """(status, body, location); raises StopIteration when the budget is spent."""
        if count and not self.budget.acquire(blocking=False):
            raise StopIteration
        url = path if path.startswith("http") else self.base + path
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(url, data=body, headers={"Referer": self.base + "/"})
        try:
            with self.opener.open(req, timeout=30) as response:
                status, text, location = (
                    response.status,
                    response.read().decode("utf-8", "replace"),
                    None,
                )
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read().decode("utf-8", "replace")
            location = exc.headers.get("Location")
        except (urllib.error.URLError, OSError) as exc:
            with self.stats.lock:
                self.stats.errors[type(exc).__name__] += 1
                self.stats.requests += 1
            return None, "", None
        with self.stats.lock:
            self.stats.statuses[status] += 1
            self.stats.requests += 1
        return status, text, location

    def login(self, username: str, password: str) -> bool:
        status, html, _ = self.request("/accounts/login/", count=False)
        form = form_with(html or "", "password")
        if status != 200 or form is None:
            return False
        fields = {**form["fields"], "username": username, "password": password}
        status, _, location = self.request("/accounts/login/", fields, count=False)
        return status == 302 and "/accounts/login/" not in (location or "")


def reader(session: Session, paths: list[str]) -> None:
    i = 0
    while not session.out_of_time():
        try:
            session.request(paths[i % len(paths)])
        except StopIteration:
            return
        i += 1


def first_commune_id(session: Session) -> str | None:
    status, html, _ = session.request("/admin/branches/commune/", count=False)
    match = re.search(r"/admin/branches/commune/(\d+)/change/", html or "")
    return match.group(1) if status == 200 and match else None


def create_writer(session: Session, run: str, number: int, commune_id: str) -> None:
    n = 0
    while not session.out_of_time():
        try:
            status, html, _ = session.request("/admin/branches/village/add/")
            form = form_with(html or "", "code") if status == 200 else None
            if form is None:
                continue
            code = f"LT-{run}-{number}-{n}"
            n += 1
            data = {
                **form["fields"],
                "commune": commune_id,
                "code": code,
                "name": f"Thôn tải {number}-{n}",
                "_continue": "1",
            }
            status, _, location = session.request("/admin/branches/village/add/", data)
        except StopIteration:
            return
        with session.stats.lock:
            if status == 302 and location and "/change/" in location:
                session.stats.writes_ok += 1
                session.stats.acknowledged.append((location, code))
            elif status is not None and status < 500:
                session.stats.writes_refused += 1


def read_counter(session: Session, url: str, name: str) -> int | None:
    status, html, _ = session.request(url, count=False)
    form = form_with(html or "", name) if status == 200 else None
    try:
        return int(form["fields"][name]) if form else None
    except (KeyError, ValueError):
        return None


def counter_writer(session: Session, url: str, name: str) -> None:
    while not session.out_of_time():
        try:
            status, html, _ = session.request(url)
            form = form_with(html or "", name) if status == 200 else None
            if form is None:
                continue
            try:
                value = int(form["fields"].get(name) or 0)
            except ValueError:
                continue
            data = {**form["fields"], name: str(value + 1)}
            action = form["action"] or url
            status, _, _ = session.request(urllib.parse.urljoin(url, action), data)
        except StopIteration:
            return
        with session.stats.lock:
            if status in (301, 302, 303):
                session.stats.writes_ok += 1
            elif status is not None and status < 500:
                session.stats.writes_refused += 1


def run(args) -> dict:
    check_loopback(args.base_url)
    seconds = min(args.seconds, MAX_SECONDS)
    # Logins first (a production password hash takes a good fraction of a
    # second each); the clock starts when every session is ready.
    deadline = time.monotonic() + seconds + 3600
    stats = Stats()
    budget = threading.Semaphore(min(args.max_requests, MAX_REQUESTS))
    run_tag = str(int(time.time()))[-6:]

    sessions: list[Session] = []

    def session() -> Session:
        s = Session(args.base_url, stats, budget, deadline)
        if not s.login(args.username, args.password):
            raise SystemExit(f"login as {args.username!r} failed")
        sessions.append(s)
        return s

    control = session()
    threads = []
    initial = None
    if args.counter_url:
        initial = read_counter(control, args.counter_url, args.counter_field)
        if initial is None:
            raise SystemExit(f"no integer field {args.counter_field!r} at {args.counter_url}")
        for _ in range(args.writers):
            threads.append(
                threading.Thread(
                    target=counter_writer, args=(session(), args.counter_url, args.counter_field)
                )
            )
    elif args.writers:
        commune_id = first_commune_id(control)
        if commune_id is None:
            raise SystemExit(
                "no commune to create villages in (or the user is not an administrator)"
            )
        for number in range(args.writers):
            threads.append(
                threading.Thread(
                    target=create_writer, args=(session(), run_tag, number, commune_id)
                )
            )
    for _ in range(args.readers):
        threads.append(
            threading.Thread(target=reader, args=(session(), args.path or DEFAULT_PATHS))
        )
    started = time.monotonic()
    for s in sessions:
        s.deadline = started + seconds
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    elapsed = time.monotonic() - started

    lost: list = []
    if args.counter_url:
        final = read_counter(control, args.counter_url, args.counter_field)
        expected = initial + stats.writes_ok
        if final != expected:
            lost.append(f"{args.counter_field}: expected {expected}, found {final}")
    else:
        for url, code in stats.acknowledged:
            status, html, _ = control.request(url, count=False)
            if status != 200 or code not in html:
                lost.append(code)
    server_errors = sum(n for s, n in stats.statuses.items() if s >= 500)
    summary = {
        "seconds": round(elapsed, 2),
        "requests": stats.requests,
        "requests_per_second": round(stats.requests / elapsed, 1) if elapsed else 0,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "transport_errors": dict(stats.errors),
        "server_errors": server_errors,
        "writes_ok": stats.writes_ok,
        "writes_refused": stats.writes_refused,
        "lost_writes": lost,
        "created": [code for _, code in stats.acknowledged],
        "ok": server_errors == 0 and not stats.errors and not lost,
    }
    return summary


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base-url", default="http://127.0.0.1:8000")
    p.add_argument("--username", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--readers", type=int, default=4)
    p.add_argument("--writers", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10, help=f"at most {MAX_SECONDS}")
    p.add_argument(
        "--max-requests", type=int, default=2000, help=f"in total, at most {MAX_REQUESTS}"
    )
    p.add_argument("--path", action="append", help="a page the readers GET (repeatable)")
    p.add_argument("--counter-url", help="counter mode: the edit form to increment through")
    p.add_argument("--counter-field", default="households")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        summary = run(args)
    except RefusedTarget as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=2, ensure_ascii=False))
    else:
        print(
            f"{summary['requests']} requests in {summary['seconds']} s "
            f"({summary['requests_per_second']}/s); statuses {summary['statuses']}"
        )
        print(
            f"writes: {summary['writes_ok']} ok, {summary['writes_refused']} refused; "
            f"lost: {len(summary['lost_writes'])}; server errors: {summary['server_errors']}; "
            f"transport errors: {summary['transport_errors'] or 0}"
        )
        print("OK" if summary["ok"] else "FAILED")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
