"""JSON error responses and the middleware that turns exceptions into them.

A person's bad input (bad JSON, missing field, wrong type) is a 400 with a
message; HTTP errors keep their status with a JSON body; only real bugs are a
500, logged with their traceback.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from graph.json_policy import dumps_strict, first_non_finite

log = logging.getLogger("loom.api")


class BadRequest(Exception):
    """Raised by handlers for a person's mistake; becomes a 400 (or `status`)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class NonFiniteNumber(BadRequest):
    """A NaN or infinite number in a request body; `path` says where (keys and indexes)."""

    def __init__(self, path: tuple):
        self.path = path
        where = ".".join(str(part) for part in path) or "the body"
        super().__init__(f"{where}: numbers must be finite (NaN, Infinity and values past 1e308 are refused)")


def json_response(data, status: int = 200, **options) -> web.Response:
    """web.json_response that never writes NaN or Infinity (browsers refuse them)."""
    return web.json_response(data, status=status, dumps=dumps_strict, **options)


ERROR_TYPES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "payload_too_large"}


def json_error(status: int, message: str, **extra) -> web.Response:
    kind = ERROR_TYPES.get(status, "bad_request") if status < 500 else "server_error"
    body = {"error": {"type": kind, "message": message}}
    body.update(extra)
    return web.json_response(body, status=status)


async def read_json(request: web.Request, default=None):
    """The request body as JSON whatever the Content-Type says; `default` for an empty body."""
    raw = await request.read()
    if not raw.strip():
        if default is not None:
            return default
        raise BadRequest("the request body is empty; expected JSON")
    try:
        data = json.loads(raw)
        if b"\\ud" in raw.lower():  # an escaped surrogate: refuse it unless it is part of a pair
            json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("the request body holds a lone UTF-16 surrogate (\\udXXX), which is not text") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise BadRequest(f"the request body is not valid JSON: {error}") from None
    except RecursionError:
        raise BadRequest("the request body is nested too deeply") from None
    except ValueError as error:  # integers past Python's digit limit
        raise BadRequest(f"the request body is not valid JSON: {error}") from None
    try:
        path = first_non_finite(data)
    except RecursionError:
        raise BadRequest("the request body is nested too deeply") from None
    if path is not None:
        raise NonFiniteNumber(path)
    return data


async def read_json_object(request: web.Request, default=None) -> dict:
    data = await read_json(request, default)
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return data


@web.middleware
async def error_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except BadRequest as error:
        return json_error(error.status, str(error))
    except HttpProcessingError as error:  # a malformed body aiohttp found while reading it
        return json_error(400, f"the request is malformed: {error.message or error}")
    except web.HTTPException as error:
        if error.status < 400 or error.content_type == "application/json":
            raise
        message = error.text if error.text and not error.text.startswith(f"{error.status}:") else error.reason
        if error.status == 413:
            message = "the request body is larger than the server's --max-upload-size"
        response = json_error(error.status, message)
        for header in ("Allow", "Location"):
            if header in error.headers:
                response.headers[header] = error.headers[header]
        return response
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        return json_error(500, "internal server error (see the server log)")
