"""WSGI entry point for gunicorn: ``gunicorn pownce.wsgi`` (see deploy/gunicorn.conf.py)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pownce.settings")

application = get_wsgi_application()
