"""WSGI entry point (`module = app.wsgi:application` in the uwsgi.ini Stagecraft renders)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "app.settings")
application = get_wsgi_application()
