"""OpenAI-style error objects for every failure the guard answers with."""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from stormwatch.errors import StormwatchError


class ApiError(StormwatchError):
    """An error answered as `{"error": {"message", "type", "code", "param"}}` with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.extra = extra or {}

    @classmethod
    def too_many(cls, message: str, *, code: str, wait_s: float) -> ApiError:
        """A 429 that tells the client when to retry (`Retry-After`, whole seconds, at least 1)."""
        return cls(
            429, message, type="requests", code=code, headers={"retry-after": str(max(1, math.ceil(wait_s)))}
        )

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        out: dict[str, Any] = {
            "error": {"message": self.message, "type": self.type, "code": self.code, "param": self.param}
        }
        out.update(self.extra)
        return out

    def response(self) -> JSONResponse:
        """The error as a JSON response."""
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def error_body(message: str, *, type: str, code: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error object (also used inside SSE streams)."""
    return {"error": {"message": message, "type": type, "code": code, "param": None}}


def loc_to_param(loc: tuple[int | str, ...] | list[int | str], prefix: str = "") -> str:
    """A dotted field path (`messages.0.role`) from a pydantic error location."""
    parts = [str(p) for p in loc if p != "body"]
    path = ".".join(parts)
    return f"{prefix}.{path}" if prefix and path else (prefix or path)


def validation_error(exc: ValidationError, prefix: str = "") -> ApiError:
    """A 422 naming the first invalid field of a pydantic validation error."""
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return ApiError(
            422, f"request body is not valid JSON: {first['msg']}", code="invalid_json", param=None
        )
    param = loc_to_param(first["loc"], prefix) or None
    more = len(exc.errors()) - 1
    tail = f" (and {more} more error{'s' if more > 1 else ''})" if more > 0 else ""
    return ApiError(422, f"{param or 'body'}: {first['msg']}{tail}", code="invalid_field", param=param)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    param = loc_to_param(tuple(first.get("loc", ()))) or None
    return ApiError(
        422, f"{param or 'body'}: {first.get('msg')}", code="invalid_field", param=param
    ).response()


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    return ApiError(exc.status_code, str(exc.detail), code=code, headers=dict(exc.headers or {})).response()


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # The detail stays in the log (with the request id); the client gets no internals.
    return ApiError(500, "internal error in the Stormwatch guard", type="server_error").response()


HANDLERS: dict[Any, Any] = {
    ApiError: _api_error,
    RequestValidationError: _request_validation,
    StarletteHTTPException: _http_error,
    Exception: _unexpected,
}
