"""Sweep checks for `/api/v2/auth/login` and `/api/v2/auth/logout`, through the official client."""

from __future__ import annotations

import airflow_client.client as af
import httpx

from tests.api.sweep import op
from tests.e2e.lite_process import PASSWORD


@op("login")
def login(ctx):
    # Not signed in (the client sends no cookie): Leoflow's login page, to come back to `next`.
    resp = af.LoginApi(ctx.client).login_without_preload_content(next="/dags")
    body = resp.data.decode()
    assert 'name="password"' in body and "next=%2Fdags" in body, body[:300]
    return resp


@op("logout")
def logout(ctx):
    """A browser session (cookie) logged out: its token stops working; the caller's Bearer token does not."""
    session = httpx.post(f"{ctx.base_url}/api/v2/auth/login", params={"next": "/"},
                         data={"username": "admin", "password": PASSWORD}).cookies["_token"]
    client = af.ApiClient(af.Configuration(host=ctx.base_url), cookie=f"_token={session}")
    resp = af.LoginApi(client).logout_without_preload_content()
    after = httpx.get(f"{ctx.base_url}/api/v2/dags", cookies={"_token": session})
    assert after.status_code == 401, after.text
    return resp
