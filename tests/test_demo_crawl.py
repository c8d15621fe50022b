"""The crawl of tests/test_crawl.py over the demo story itself (seed_demo: ten
communes merged into three on 1 July 2025, 2,000 members, years of meetings), as
every demo login: every link shown answers 200 and no page shows English. The
small world of test_crawl has one record of each kind; the demo has the twins, the
ceased communes and the codes that mean two units, where the bugs were.

The demo takes about 20 s to build: once, for all seven logins. One page of each
shape (a member's page, a meeting's) is enough to find a broken link."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tests.test_crawl import crawl, english_on

DEMO_LOGINS = ["admin", "district", "thainguyen", "caotan", "giaohieu", "caominh", "khauslom"]


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def test_every_link_shown_on_the_demo_works_and_reads_vietnamese(db, settings):
    # One test for the seven logins: the demo is built once (about 20 s), not per login.
    settings.DEBUG = True
    call_command("seed_demo", verbosity=0)
    settings.DEBUG = False
    failures = {}
    for username in DEMO_LOGINS:
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        seen, broken, texts = crawl(client, same_shape_limit=1, admin_shape_limit=1)
        english = english_on(texts)
        assert len(seen) > 20, username
        if broken or english:
            failures[username] = {"not 200": broken, "English": english[:10]}
    assert not failures, failures
