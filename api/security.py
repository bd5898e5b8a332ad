"""Who may talk to the server: origin checks, CORS, and the bearer token.

Loopback means 127.0.0.0/8, ::1 and "localhost". A server bound to loopback
only answers requests whose Host is a loopback name (this defeats DNS
rebinding) and refuses browser requests from any non-loopback Origin. On any
server, a browser Origin whose host:port differs from the Host header is
refused with 403, unless --enable-cors-header allows that origin ("*" allows
all), in which case the CORS headers are added and OPTIONS preflights answered.

Listening beyond loopback needs --auth-token (or --insecure). With a token
every request, websocket included, needs "Authorization: Bearer TOKEN",
"?token=TOKEN" or the loom_token cookie that a valid ?token= sets.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from aiohttp import web

from api.errors import json_error

TOKEN_COOKIE = "loom_token"


class StartupError(Exception):
    """The flags make an unsafe or impossible server; the message says what to change."""


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_host_header(value: str) -> tuple[str, str | None]:
    """'host:port' or '[::1]:port' -> (host, port)."""
    parsed = urlsplit(f"//{value}")
    try:
        port = str(parsed.port) if parsed.port is not None else None
    except ValueError:
        port = None
    return (parsed.hostname or ""), port


def check_listen_flags(listen: str, auth_token: str | None, insecure: bool) -> None:
    addresses = [part.strip() for part in str(listen).split(",") if part.strip()]
    exposed = [address for address in addresses if not is_loopback_host(address)]
    if exposed and not auth_token and not insecure:
        raise StartupError(
            f"refusing to listen on {', '.join(exposed)} without --auth-token TOKEN: anyone who can reach "
            "this address could run workflows and read your files. Give a token, or --insecure if you "
            "really mean it."
        )


def make_access_middleware(listen: str, cors_origin: str | None, auth_token: str | None):
    loopback_server = all(is_loopback_host(a.strip()) for a in str(listen).split(",") if a.strip())

    def origin_allowed_by_cors(origin: str) -> bool:
        return cors_origin is not None and (cors_origin == "*" or origin.rstrip("/") == cors_origin.rstrip("/"))

    def origin_refusal(request: web.Request) -> str | None:
        host_header = request.headers.get("Host", "")
        host, host_port = split_host_header(host_header)
        if loopback_server and host_header and not is_loopback_host(host):
            return f"Host '{host_header}' is not a loopback name; this server only answers on loopback"
        origin = request.headers.get("Origin")
        if origin is None or origin_allowed_by_cors(origin):
            return None
        parsed = urlsplit(origin)
        if origin == "null" or not parsed.hostname:
            return "requests from an opaque origin are refused"
        try:
            origin_port = parsed.port or {"http": 80, "https": 443}.get(parsed.scheme)
        except ValueError:
            return "the Origin header is malformed"
        if loopback_server and not is_loopback_host(parsed.hostname):
            return f"cross-origin request from {origin} refused (see --enable-cors-header)"
        host_port_num = int(host_port) if host_port else {"http": 80, "https": 443}.get(request.scheme)
        if parsed.hostname.lower() != host.lower() or origin_port != host_port_num:
            return f"cross-origin request from {origin} refused (see --enable-cors-header)"
        return None

    def token_ok(request: web.Request) -> bool:
        if auth_token is None:
            return True
        given = None
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        given = given or request.query.get("token") or request.cookies.get(TOKEN_COOKIE)
        return bool(given) and hmac.compare_digest(given.encode(), auth_token.encode())

    def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get("Origin")
        if cors_origin is None or origin is None or not origin_allowed_by_cors(origin):
            return
        response.headers["Access-Control-Allow-Origin"] = cors_origin if cors_origin != "*" else "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
        response.headers["Access-Control-Allow-Credentials"] = "true" if cors_origin != "*" else "false"
        response.headers["Vary"] = "Origin"

    @web.middleware
    async def access_middleware(request: web.Request, handler):
        refusal = origin_refusal(request)
        if refusal:
            return json_error(403, refusal)
        if request.method == "OPTIONS" and cors_origin is not None:
            response = web.Response(status=204)
            add_cors_headers(request, response)
            return response
        if not token_ok(request):
            response = json_error(401, "missing or wrong token: send 'Authorization: Bearer TOKEN' or ?token=TOKEN")
            add_cors_headers(request, response)
            return response
        response = await handler(request)
        if auth_token is not None and request.query.get("token") and not response.prepared:
            response.set_cookie(TOKEN_COOKIE, auth_token, httponly=True, samesite="Strict")
        if not response.prepared:
            add_cors_headers(request, response)
        return response

    return access_middleware
