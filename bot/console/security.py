"""The console's guard: session cookie, CSRF token, Origin, JSON errors, security headers."""
from __future__ import annotations

import json
import secrets
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import urlsplit

from aiohttp import web

from bot.appkeys import SETTINGS, STORE
from bot.console import accounts
from bot.console.accounts import Session
from core.settings import Settings

COOKIE = "salama_console"
COOKIE_PATH = "/console"
API = "/console/api/"
PUBLIC_API = {"/console/api/login"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# Who may call what: supervisors see aggregates and manage accounts, never a conversation;
# counsellors see the queue and conversations, never the programme view or the accounts.
ROLE_PREFIXES = (
    ("/console/api/programme", "supervisor"),
    ("/console/api/accounts", "supervisor"),
    ("/console/api/conversations", "counsellor"),
    ("/console/api/canned", "counsellor"),
)
SESSION = "console_session"  # request key holding the Session
DEFAULT_PORTS = {"http": 80, "https": 443}


class ApiError(Exception):
    """An error the API answers as JSON: {"error": message, "code": code, ...extra}."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self) -> web.Response:
        return web.json_response({"error": self.message, "code": self.code, **self.extra},
                                 status=self.status)


def expected_origin(settings: Settings) -> str:
    """PUBLIC_BASE_URL's origin as a browser sends it (no default port, lower case)."""
    parts = urlsplit(settings.public_base_url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port and parts.port != DEFAULT_PORTS.get(scheme) else ""
    return f"{scheme}://{host}{port}"


def origin_ok(request: web.Request, required: bool) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return not required
    return secrets.compare_digest(origin.rstrip("/").lower(), expected_origin(request.app[SETTINGS]))


def set_session_cookie(response: web.StreamResponse, settings: Settings, token: str) -> None:
    response.set_cookie(COOKIE, token, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=settings.public_base_url.startswith("https://"),
                        max_age=accounts.SESSION_S)


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path=COOKIE_PATH)


async def session_of(request: web.Request) -> Optional[Session]:
    store = request.app[STORE]
    return await store.aio.call(accounts.find_session, store, request.cookies.get(COOKIE, ""))


def current(request: web.Request) -> Session:
    return request[SESSION]


async def json_body(request: web.Request) -> dict:
    if request.content_type != "application/json":
        raise ApiError(415, "json_required", "Send the body as application/json.")
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "bad_json", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "The body must be a JSON object.")
    return body


HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
HSTS = "max-age=31536000"  # a year; browsers then refuse plain http for this host


def _csp(settings: Settings) -> str:
    origin = expected_origin(settings)
    socket = "ws" + origin[4:]  # http -> ws, https -> wss
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {socket}; manifest-src 'self'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")


@web.middleware
async def guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """For /console/api/: a live session and, to change state, the session's CSRF token in
    X-CSRF-Token and no foreign Origin. Errors answer as JSON (headers: `add_headers`)."""
    if not request.path.startswith(COOKIE_PATH):
        return await handler(request)
    try:
        if request.path.startswith(API):
            await _check(request)
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if not request.path.startswith(API) or exc.status < 400:
            raise
        return ApiError(exc.status, f"http_{exc.status}", exc.reason).response()


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every /console response gets the headers, whoever made it (a
    handler, the router's 404 and 405, aiohttp's own 500, the WebSocket handshake)."""
    if request.path != COOKIE_PATH and not request.path.startswith(COOKIE_PATH + "/"):
        return
    settings = request.app[SETTINGS]
    response.headers.update(HEADERS)
    response.headers["Content-Security-Policy"] = _csp(settings)
    if settings.public_base_url.startswith("https://"):
        response.headers["Strict-Transport-Security"] = HSTS


async def _check(request: web.Request) -> None:
    changing = request.method not in SAFE_METHODS
    if changing and not origin_ok(request, required=False):
        raise ApiError(403, "bad_origin", "This request comes from another site.")
    if request.path in PUBLIC_API:
        return
    session = await session_of(request)
    if session is None:
        raise ApiError(401, "not_logged_in", "Log in first (the session is missing or expired).")
    if changing:
        sent = request.headers.get("X-CSRF-Token", "")
        if not sent or not secrets.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise ApiError(403, "csrf", "Missing or wrong X-CSRF-Token header.")
    needed = role_for(request.path)
    if needed and session.role != needed:
        raise ApiError(403, "forbidden_role", f"Only a {needed}'s account may do this.")
    request[SESSION] = session


def role_for(path: str) -> Optional[str]:
    """The role a path needs (None: any logged-in account)."""
    return next((role for prefix, role in ROLE_PREFIXES if path.startswith(prefix)), None)
