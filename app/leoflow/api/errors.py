"""Errors as Airflow's FastAPI app gives them: `{"detail": ...}`, 422 bodies naming the field."""

from __future__ import annotations

from starlette.responses import JSONResponse


class HTTPError(Exception):
    """Raised by handlers; the route wrapper turns it into a JSON response."""

    def __init__(self, status: int, detail, headers: dict | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def not_found(detail: str) -> HTTPError:
    return HTTPError(404, detail)


def invalid(loc: list, msg: str, input_, type_: str, ctx: dict | None = None) -> dict:
    """One pydantic-style validation error item."""
    item = {"type": type_, "loc": loc, "msg": msg, "input": input_}
    if ctx is not None:
        item["ctx"] = ctx
    return item


class ValidationFailed(HTTPError):
    def __init__(self, errors: list[dict]):
        super().__init__(422, errors)


def error_response(exc: HTTPError) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)
