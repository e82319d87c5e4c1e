"""/ui/auth: who the UI's user is, which menu entries to show, API tokens for the signed-in user."""

from __future__ import annotations

from .. import auth
from ..validate import Body, json_body

# Airflow 3.2.1's MenuItem values, in its order; the simple auth manager shows every one to every role
# (the pages themselves answer 403 where a role may not).
MENU_ITEMS = ["Required Actions", "Assets", "Audit Log", "Config", "Connections", "Dags", "Docs", "Jobs",
              "Plugins", "Pools", "Providers", "Variables", "XComs"]
TOKEN_TYPES = {"api": auth.TOKEN_LIFETIME, "cli": auth.CLI_TOKEN_LIFETIME}


def menus(services, request):
    return {"authorized_menu_items": list(MENU_ITEMS), "extra_menu_items": []}


def me(services, request):
    user = request.state.user
    return {"id": user.username, "username": user.username}


def generate_token(services, request):
    """POST /ui/auth/token `{"token_type": "api"|"cli"}`: a fresh token for the caller."""
    body = Body(json_body(request), allowed={"token_type"})
    kind = body.data.get("token_type", "api")
    if kind not in TOKEN_TYPES:
        body.fail("token_type", "Input should be 'api' or 'cli'", kind, "enum", {"expected": "'api' or 'cli'"})
    body.done()
    lifetime = TOKEN_TYPES[kind]
    token = request.state.auth.issue(request.state.user, lifetime)
    return {"access_token": token, "token_type": kind, "expires_in_seconds": int(lifetime.total_seconds())}


ROUTES = [
    ("/ui/auth/menus", ["GET"], menus),
    ("/ui/auth/me", ["GET"], me),
    ("/ui/auth/token", ["POST"], generate_token),
]
