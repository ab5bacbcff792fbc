"""Errors as the service sends them: ``{"error": {"code", "message", "hint", "details"}}``.

An :class:`~rmtc.errors.RmtcError` goes out with its own status and code, so the remote store raises
the very same class on the other side. Request validation failures are 422 ``invalid_input`` in the
same shape; unknown routes and methods keep their 404/405. Nothing sends a stack trace: an unexpected
exception is logged here (by type and message, which never hold a token) and answered with a bare 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rmtc.errors import RmtcError

log = logging.getLogger("rmtc.server")

#: The status of a body over the size limit; the code stays ``invalid_input``, so clients raise that.
TOO_LARGE = 413


def error_body(code: str, message: str, hint: str | None = None, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "hint": hint, "details": details or {}}}


def error_response(exc: RmtcError, status: int | None = None) -> JSONResponse:
    return JSONResponse(error_body(**exc.to_dict()), status_code=status or exc.http_status)


async def _rmtc_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RmtcError)
    return error_response(exc, getattr(exc, "status_override", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": str(e.get("msg", ""))[:200]}
        for e in exc.errors()[:20]
    ]
    first = problems[0] if problems else {"where": "request", "problem": "invalid"}
    return JSONResponse(
        error_body(
            "invalid_input",
            f"invalid request: {first['where']}: {first['problem']}",
            "send the shape documented at /docs",
            {"problems": problems},
        ),
        status_code=422,
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {401: "unauthorized", 403: "forbidden", 404: "not_found", 413: "invalid_input"}.get(
        exc.status_code, "invalid_input" if exc.status_code < 500 else "error"
    )
    message = str(exc.detail) if isinstance(exc.detail, str) else "request refused"
    headers = dict(exc.headers or {})
    return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected %s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    return JSONResponse(
        error_body("error", "the service failed unexpectedly", "see the service's log"), status_code=500
    )


def install(app: FastAPI) -> None:
    """Install the handlers that give every error the one shape."""
    app.add_exception_handler(RmtcError, _rmtc_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
