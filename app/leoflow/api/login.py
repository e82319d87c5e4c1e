"""The browser's way in and out: Leoflow's login page, the `_token` cookie, logout.

The Airflow UI, answered 401, sends the browser to `/api/v2/auth/login?next=<url>`.
Airflow redirects from there to its auth manager's page; Leoflow serves a small
form at that address itself. Posting it sets the `_token` cookie (HttpOnly: the
UI never reads it, the browser just sends it) and goes back to `next` — only
within this server, so the page cannot be used to bounce users elsewhere.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qsl, urlencode, urlsplit

from starlette.responses import HTMLResponse, RedirectResponse, Response

from . import auth
from .errors import HTTPError

LOGIN_PATH = "/api/v2/auth/login"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in - Leoflow</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f6f8;margin:0;
display:flex;align-items:center;justify-content:center;min-height:100vh;color:#1a202c}}
form{{background:#fff;padding:2rem 2.2rem;border-radius:10px;box-shadow:0 2px 14px rgba(0,0,0,.08);width:20rem}}
h1{{font-size:1.3rem;margin:0 0 1.2rem}} label{{display:block;font-size:.85rem;margin:.8rem 0 .3rem}}
input{{width:100%;box-sizing:border-box;padding:.55rem .6rem;border:1px solid #cbd5e0;border-radius:6px;font-size:1rem}}
button{{margin-top:1.3rem;width:100%;padding:.6rem;border:0;border-radius:6px;background:#017cee;color:#fff;
font-size:1rem;cursor:pointer}} .error{{color:#c53030;font-size:.9rem;margin:0 0 .6rem}}
</style></head>
<body><form method="post" action="{action}">
<h1>Sign in to Leoflow</h1>{error}
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="{username}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form></body></html>
"""


def base_path(request) -> str:
    return (request.scope.get("root_path") or "").rstrip("/") + "/"


def safe_next(request, target: str | None) -> str | None:
    """`target` if it stays on this server (a path, or a URL of this host), else None."""
    if not target:
        return base_path(request)
    if any(c in target for c in "\\\r\n\t") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if not parts.scheme and not parts.netloc:
        return target if target.startswith("/") else None
    if parts.scheme not in ("http", "https"):
        return None
    return target if parts.netloc == request.headers.get("host", request.url.netloc) else None


def _page(request, next_url: str, *, error: str = "", username: str = "", status: int = 200) -> Response:
    action = base_path(request) + LOGIN_PATH.lstrip("/") + "?" + urlencode({"next": next_url})
    body = _PAGE.format(action=html.escape(action), username=html.escape(username),
                        error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "")
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _next_param(request) -> str:
    target = safe_next(request, request.query_params.get("next"))
    if target is None:
        raise HTTPError(400, "Invalid or unsafe next URL")
    return target


def login_page(services, request):
    """GET /api/v2/auth/login?next=...: the form, or straight to `next` for a valid session."""
    target = _next_param(request)
    token = request.cookies.get(auth.COOKIE)
    if token:
        try:
            request.state.auth.verify(token)
            return RedirectResponse(target, status_code=307)
        except HTTPError:
            pass
    return _page(request, target)


def set_token_cookie(request, response: Response, token: str) -> None:
    response.set_cookie(auth.COOKIE, token, path=base_path(request), httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", max_age=int(auth.TOKEN_LIFETIME.total_seconds()))


def login_submit(services, request):
    """POST /api/v2/auth/login (the form): set the cookie and go to `next` (303), or the form again."""
    target = _next_param(request)
    data = dict(parse_qsl(request.state.body.decode("utf-8", "replace"), keep_blank_values=True))
    username, password = data.get("username", ""), data.get("password", "")
    authenticator: auth.Authenticator = request.state.auth
    user = authenticator.login(username, password) if username and password else None
    if user is None:
        if username:
            auth.record_login(services, "login_failed", username, "form")
        return _page(request, target, error="Invalid username or password.", username=username, status=401)
    auth.record_login(services, "login", user.username, "form")
    response = RedirectResponse(target, status_code=303)
    set_token_cookie(request, response, authenticator.issue(user))
    return response


def logout(services, request):
    """GET /api/v2/auth/logout: revoke the session's token, clear the cookie, back to the login page.

    Only the browser session (the cookie) is logged out, as in Airflow: a script's Bearer token
    calling this by mistake keeps working."""
    authenticator: auth.Authenticator = request.state.auth
    token = request.cookies.get(auth.COOKIE)
    user = authenticator.revoke(token) if token else None
    if user is not None:
        auth.record_login(services, "logout", user.username, "cookie")
    response = RedirectResponse(base_path(request) + LOGIN_PATH.lstrip("/"), status_code=307)
    response.delete_cookie(auth.COOKIE, path=base_path(request), httponly=True,
                           secure=request.url.scheme == "https")
    return response


ROUTES = [
    ("/auth/login", ["GET"], login_page, "public"),
    ("/auth/login", ["POST"], login_submit, "public"),
    ("/auth/logout", ["GET"], logout, "public"),
]
