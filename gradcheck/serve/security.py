"""Who may do what: the teacher token, signed student links, CSRF tokens, limits.

- The teacher token is compared with ``hmac.compare_digest`` (constant time).
- Keys for signing (session cookies, student links) are derived from the teacher token
  with HMAC, so links stay valid across restarts with the same token and die when the
  token changes.
- A student link carries ``itsdangerous``-signed student id; it proves the link came from
  the teacher, not who clicked it.
- Forms carry a CSRF token kept in the (signed) session; the JSON API accepts only
  ``application/json``, which a page on another site cannot send without a CORS preflight
  this server never grants.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["BodyLimit", "RateLimiter", "check_csrf", "csrf_token", "derive_key",
           "link_signer", "token_matches"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def token_matches(given: str | None, expected: str) -> bool:
    """True when ``given`` is the teacher token (constant time in the token's content)."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def derive_key(teacher_token: str, purpose: str) -> str:
    """A signing key for one purpose, derived from the teacher token."""
    return hmac.new(teacher_token.encode(), f"gradcheck-serve:{purpose}".encode(),
                    hashlib.sha256).hexdigest()


def link_signer(teacher_token: str) -> Any:
    """Signs and reads student-link tokens (``itsdangerous.URLSafeSerializer``)."""
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(derive_key(teacher_token, "student-links"), salt="student-link")


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(24)
        session["csrf"] = token
    return token


def check_csrf(session: MutableMapping[str, Any], given: Any) -> bool:
    expected = session.get("csrf")
    return isinstance(given, str) and isinstance(expected, str) and hmac.compare_digest(
        given.encode(), expected.encode())


class RateLimiter:
    """At most ``limit`` events per key in any ``window`` seconds (a sliding window, in memory)."""

    def __init__(self, limit: int, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count an event for ``key``; False (not counted) when the key is over its limit."""
        if self.limit <= 0:
            return True
        now = self.clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and now - events[0] >= self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            if len(self._events) > 100_000:  # forget idle keys so memory stays bounded
                self._events = {k: v for k, v in self._events.items()
                                if v and now - v[-1] < self.window}
            return True

    def retry_after(self, key: str) -> int:
        with self._lock:
            events = self._events.get(key)
            if not events:
                return 1
            return max(1, int(self.window - (self.clock() - events[0])) + 1)


class BodyLimit:
    """ASGI middleware: a request body over the limit is answered 413 before it is read whole."""

    def __init__(self, app: ASGIApp, default: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = default
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.default)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _too_large(send, limit)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _too_large(send, limit)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = f"request body over the limit of {limit} bytes\n".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
