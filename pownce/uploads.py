"""How big a request body may be: refused with 413 before a byte of it is read.

Django reads a request's body when something first touches ``request.POST`` / ``FILES`` (the
CSRF check does, in its ``process_view``) and spools file parts to a temporary file as they
arrive, whatever their size: an anonymous ``POST /login/`` of 200 MB was written to disk in full
before the view answered. :class:`BodyLimitMiddleware` runs before the CSRF check and compares
the request's ``Content-Length`` with what the view it is going to takes:

* views marked with :func:`accepts_uploads` (the note form, the profile photo) take
  ``MAX_UPLOAD_BYTES`` plus ``FORM_OVERHEAD_BYTES`` for the multipart framing and the other fields;
* every other view ``MAX_FORM_BYTES`` (1 MB: a long note, a set of a few thousand friends).

Why ``Content-Length`` is enough: Django reads a body through a stream limited to the declared
``Content-Length`` (``django.core.handlers.wsgi.LimitedStream``), so a body cannot grow past what
it declared, and one sent without a length (chunked) is read as empty. nginx in front of each app
server refuses the same sizes itself (``client_max_body_size``, deploy/nginx.conf); this keeps
``make run`` and any deployment without nginx just as safe.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse

# The multipart boundaries, headers and the note form's other fields around a file.
FORM_OVERHEAD_BYTES = 1024 * 1024


def accepts_uploads(view):
    """Mark a view that takes a file upload: its body may be as large as an upload."""
    view.accepts_uploads = True
    return view


def body_limit(view) -> int:
    if getattr(view, "accepts_uploads", False):
        return settings.MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES
    return settings.MAX_FORM_BYTES


class BodyLimitMiddleware:
    """413 for a body larger than its view takes, before anything reads it (module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django reads such a body as empty
        limit = body_limit(view_func)
        if declared <= limit:
            return None
        mb = settings.MAX_UPLOAD_BYTES / (1024 * 1024)
        what = f"Files can be at most {mb:g} MB." if limit > settings.MAX_FORM_BYTES else "This form takes less."
        return HttpResponse(
            f"That is too much to send at once ({declared / (1024 * 1024):.1f} MB). {what}\n",
            status=413,
            content_type="text/plain; charset=utf-8",
        )
