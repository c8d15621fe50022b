"""End-to-end tests in headless Chromium: Debian's chromium driven by Playwright's
Python client (no browser download). Without chromium these tests are not
collected and `make test` says so in one visible line (scripts/browser_status.py)."""

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "screenshots")


def pytest_addoption(parser):
    parser.addoption("--screenshots", action="store_true", help="write docs/screenshots/*.png")


def pytest_collection_modifyitems(config, items):
    if CHROMIUM:
        return
    browser_items = [
        item for item in items if "tests/browser/" in str(item.fspath).replace(os.sep, "/")
    ]
    if browser_items:
        config.hook.pytest_deselected(items=browser_items)
        items[:] = [item for item in items if item not in browser_items]
        print(f"\nbrowser tests: {len(browser_items)} not run - chromium is not installed")


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; the test's own
    # ORM calls are still synchronous, so Django's async guard is relaxed here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page_for(browser, live_server):
    """page_for(width=1280) -> a new page at that viewport, with base_url set to the live server;
    locale="en-US" for an English-language browser."""
    contexts = []

    def _page(width=1280, height=900, locale="vi-VN"):
        context = browser.new_context(
            viewport={"width": width, "height": height}, base_url=live_server.url, locale=locale
        )
        contexts.append(context)
        return context.new_page()

    yield _page
    for context in contexts:
        context.close()


def log_in(page, username, password):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")


def screenshot(request, page, name):
    if request.config.getoption("--screenshots"):
        # Charts load lazily; a full-page picture needs them all.
        page.evaluate(
            "() => document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')"
        )
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        os.makedirs(SCREENSHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)
