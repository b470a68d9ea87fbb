"""The posting rows of `make bench`: a note sent by someone with no fans and by someone with
5,000, through HAProxy like a browser (log in, CSRF, POST /notes/new/).

For each: the request's p50 (fan-out to a large audience is queued, so the request should not
grow with the audience) and the time from sending until every inbox holds the note (read on
the primary: the task worker delivers in batches)."""

from __future__ import annotations

import json
import re
import statistics
import time

from benchlib import Broken, cookies, log_in, manage, request, step

POSTS = 10
DELIVERY_TIMEOUT = 120.0


def csrf(port: str, session: str) -> tuple[str, str]:
    """A CSRF cookie and a form token for a signed-in session."""
    response, page = request(port, "GET", "/notes/new/", cookie=session)
    cookie = cookies(response).get("csrftoken")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if response.status != 200 or not cookie or not match:
        raise Broken(f"GET /notes/new/ answered {response.status} without a CSRF token")
    return cookie, match.group(1)


def delivered(note_id: int) -> int:
    import bench_inbox  # the inbox may be on clusters of its own

    return bench_inbox.delivered(note_id)


def post_notes(port: str, username: str, audience: int) -> dict:
    session = log_in(port, username)
    cookie, token = csrf(port, session)
    request_ms, delivery_ms = [], []
    for i in range(POSTS):
        started = time.monotonic()
        response, _ = request(
            port,
            "POST",
            "/notes/new/",
            cookie=f"{session}; csrftoken={cookie}",
            body={"csrfmiddlewaretoken": token, "kind": "message", "audience": "public", "body": f"bench {i}"},
        )
        request_ms.append((time.monotonic() - started) * 1000)
        # A sent note goes back to the page it was sent from (home), at the note: /#note-<id>.
        match = re.search(r"#note-(\d+)$", response.getheader("Location") or "")
        if response.status != 302 or not match:
            raise Broken(f"posting as {username} answered {response.status} ({response.getheader('Location')})")
        note_id = int(match.group(1))
        while delivered(note_id) < audience + 1:  # every fan, and the author
            if time.monotonic() - started > DELIVERY_TIMEOUT:
                raise Broken(f"note {note_id} reached {delivered(note_id)} of {audience + 1} inboxes")
            time.sleep(0.02)
        delivery_ms.append((time.monotonic() - started) * 1000)
    return {
        "name": f"post-{audience}-fans",
        "posts": POSTS,
        "request_p50_ms": round(statistics.median(request_ms), 1),
        "delivered_p50_ms": round(statistics.median(delivery_ms), 1),
    }


def measure(env: dict, port: str, fans: int) -> list[dict]:
    step(f"posting: a note to 0 and to {fans} fans, {POSTS} times each")
    made = manage(env, "bench_audience", "--fans", str(fans), capture=True).strip().splitlines()[-1]
    people = json.loads(made)
    rows = [post_notes(port, people["quiet"], 0), post_notes(port, people["loud"], people["fans"])]
    for row in rows:
        print(f"   {row['name']}: request p50 {row['request_p50_ms']} ms, in every inbox {row['delivered_p50_ms']} ms")
    return rows
