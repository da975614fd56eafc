"""app.settings with SQLite and an in-process cache: the pool, router and Redis cache have their
own tests against fakes and real servers (test_dbpool, test_router, test_cache)."""

import os

from app.settings import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["STAGECRAFT_TEST_DB"]}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
