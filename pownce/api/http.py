"""The wrapper every API endpoint goes through: who is asking, may they, how often, and errors.

* **Authentication is the bearer token only** (``Authorization: Bearer …``,
  :mod:`pownce.api.tokens`). Session cookies are ignored here: a browser's cookie never
  authenticates an API request, so the API's views can be exempt from the CSRF check without
  letting a cross-site form act for a signed-in person. The site's own forms keep the check.
* **Scopes** as Mastodon's: ``read``/``write`` cover their granular scopes (``read:statuses`` …),
  ``follow`` covers adding, removing and blocking people.
* **Rate limits** per token, or per client address without one: ``API_RATE_LIMIT`` requests per
  ``API_RATE_WINDOW`` seconds in Redis (pownce/ratelimit.py), told in ``X-RateLimit-Limit``,
  ``-Remaining`` and ``-Reset`` (an ISO 8601 time, as Mastodon sends), 429 past it. The limit
  fails open when Redis is away, as every limit on reads does.
* **Whole answers** of the reads clients poll (``cached=True``) are kept by key-based
  expiration (:mod:`pownce.api.caching`); the checks above still run on every request, the
  stored answer only stands in for the view.
* **Errors** are ``{"error": "…"}`` with Mastodon's statuses: 401 without a valid token where
  one is needed, 403 outside the token's scopes, 404 for what does not exist *or may not be
  seen* (the same answer, so a private note's existence is not told), 422 for what cannot be
  done as asked, 429 past the limit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import wraps

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from cache import pages
from pownce import clients, ratelimit
from pownce.api import caching
from pownce.api.tokens import Bearer, bearer_for


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Answer:
    """What a view returns: the JSON body, and headers (a ``Link`` for paging)."""

    data: object
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def scope_allows(granted: frozenset[str], needed: str) -> bool:
    """Whether a token with ``granted`` scopes may use an endpoint that needs ``needed``
    (a granular scope such as ``write:follows``)."""
    top = needed.split(":", 1)[0]
    if needed in granted or top in granted:
        return True
    return needed in {"read:follows", "read:blocks", "write:follows", "write:blocks"} and "follow" in granted


def bearer_token(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    kind, _, value = header.partition(" ")
    # The header only: a token in a URL ends up in logs and Referer headers (RFC 9700 §4.3.2).
    return value.strip() if kind.lower() == "bearer" else ""


def error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _limit_headers(ident: str) -> tuple[bool, dict[str, str]]:
    window = settings.API_RATE_WINDOW
    limit = settings.API_RATE_LIMIT
    used = ratelimit.hit_count("api", ident, window=window)
    reset = (int(time.time()) // window + 1) * window
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(0, limit - used)),
        "X-RateLimit-Reset": datetime.fromtimestamp(reset, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
    }
    return used <= limit, headers


def params(request: HttpRequest) -> dict[str, object]:
    """The request's parameters, from the query (GET), a form or a JSON body; ``name[]`` lists
    are gathered under ``name``."""
    if request.method == "GET":
        source = request.GET
    elif request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(422, "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise ApiError(422, "The request body must be a JSON object.")
        return body
    else:
        source = request.POST
    found: dict[str, object] = {}
    for key in source:
        values = source.getlist(key)
        if key.endswith("[]"):
            found[key[:-2]] = values
        else:
            found[key] = values[-1]
    return found


def endpoint(*, scope: str | None = None, auth: bool = False, uploads: bool = False, cached: bool = False):
    """Wrap an API view ``view(request, bearer, *args) -> Answer | data``.

    ``auth``: a valid token is required (401 without); ``scope``: the token must carry it when
    the endpoint needs one (403 without). A view that may be read signed out gets ``bearer``
    None then. ``cached``: its GET answers are kept whole, by key-based expiration
    (pownce/api/caching.py); only for views whose answer is a function of the URL, the token
    and what they read through the cache."""

    def wrap(view: Callable) -> Callable:
        @wraps(view)
        def run(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            raw = bearer_token(request)

            def checked(bearer: Bearer | None) -> HttpResponse:
                return _checked(view, request, raw, bearer, args, kwargs, auth=auth, scope=scope)

            if cached and request.method == "GET":
                return _through_cache(view, request, raw, checked)
            return checked(bearer_for(raw) if raw else None)

        run.accepts_uploads = uploads
        return csrf_exempt(run)

    return wrap


def _ident(request: HttpRequest, token_id: int | None) -> str:
    # A request with a token that is not valid counts against its address: guessing tokens is
    # limited like any other anonymous use.
    return f"token:{token_id}" if token_id is not None else f"ip:{clients.client_ip(request)}"


def _with_limit(request: HttpRequest, token_id: int | None, answer: Callable[[], HttpResponse]) -> HttpResponse:
    """Count the request against its limit; ``answer()`` within it, a 429 past it."""
    allowed, headers = _limit_headers(_ident(request, token_id))
    response = answer() if allowed else error(429, "Too many requests")
    for name, value in headers.items():
        response[name] = value
    return response


def _checked(view, request, raw: str, bearer: Bearer | None, args, kwargs, *, auth: bool, scope: str | None):
    def answer() -> HttpResponse:
        if (raw and bearer is None) or (bearer is None and auth):
            return error(401, "The access token is invalid")
        if bearer is not None and scope and not scope_allows(bearer.scopes, scope):
            return error(403, "This action is outside the authorized scopes")
        return _answer(view, request, bearer, args, kwargs)

    return _with_limit(request, bearer.token_id if bearer else None, answer)


def _through_cache(view, request: HttpRequest, raw: str, checked: Callable) -> HttpResponse:
    key, identity = caching.key_of(view, request, raw)
    hit = caching.stored(key, identity)
    if hit is not None:
        return _with_limit(request, hit.token_id, lambda: hit.response(request))
    with pages.recorded() as record:  # the token lookup too: its versions join the answer's
        bearer = bearer_for(raw) if raw else None
        response = checked(bearer)
    caching.store(key, identity, record, response, bearer.token_id if bearer else None)
    return response


def _answer(view, request, bearer, args, kwargs) -> HttpResponse:
    try:
        answer = view(request, bearer, *args, **kwargs)
    except ApiError as problem:
        return error(problem.status, problem.message)
    except Http404:
        return error(404, "Record not found")
    except PermissionDenied as denied:
        return error(403, str(denied) or "This action is not allowed")
    except ValidationError as invalid:
        return error(422, "Validation failed: " + " ".join(invalid.messages))
    except MultiPartParserError:
        return error(422, "The upload could not be read.")
    if not isinstance(answer, Answer):
        answer = Answer(answer)
    response = JsonResponse(answer.data, status=answer.status, safe=False, json_dumps_params={"ensure_ascii": False})
    for name, value in answer.headers.items():
        response[name] = value
    return response


def methods(**views: Callable) -> Callable:
    """One URL answered by a view per HTTP method (405 for the others)."""

    @csrf_exempt
    def route(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        view = views.get(request.method)
        if view is None:
            response = error(405, "Method not allowed")
            response["Allow"] = ", ".join(views)
            return response
        return view(request, *args, **kwargs)

    route.accepts_uploads = any(getattr(view, "accepts_uploads", False) for view in views.values())
    return route
