"""The HTTP session of the remote store: one ``httpx`` client, the token, and the error table.

Every answer of the service that is an error carries ``{"error": {"code", "message", "hint",
"details"}}``; it is raised here as the very same :mod:`rmtc.errors` class the service raised, through
the one code table :data:`rmtc.errors.BY_CODE`. A service that cannot be reached is a ``StoreError``
naming the URL (never the token).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from rmtc.errors import InvalidInput, RmtcError, StoreError

ENV_TOKEN = "RMTC_TOKEN"  # noqa: S105 - a variable name, not a secret
API = "/api/v1"
#: Connection failures happen before anything is sent, so retrying them is always safe.
CONNECT_ATTEMPTS = 3


def safe_url(url: str) -> str:
    """The service URL without user info, query or fragment: safe to print and log."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{url!r} is not a service URL", hint="write http(s)://host:port")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def token_from_env(token: str | None = None) -> str:
    found = token or os.environ.get(ENV_TOKEN, "")
    return found.strip()


class Session:
    """Requests to one service with one token; safe to share between threads."""

    def __init__(self, url: str, token: str | None = None, *, timeout: float = 300.0):
        self.url = safe_url(url)
        self._token = token_from_env(token)
        local = urlsplit(self.url).hostname in ("127.0.0.1", "localhost", "::1")
        headers = {"User-Agent": "rmtc-remote"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        self.client = httpx.Client(
            base_url=self.url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            trust_env=not local,
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        params: dict[str, Any] | None = None,
    ) -> Any:
        """Send a JSON request to ``/api/v1{path}`` and return the decoded JSON answer."""
        content = None
        headers = {}
        if body is not None:
            try:
                content = json.dumps(body, allow_nan=True, separators=(",", ":")).encode()
            except (TypeError, ValueError) as exc:
                raise InvalidInput(
                    f"a value cannot be sent to the service: {exc}",
                    hint="use JSON values (text, numbers, booleans, lists, objects)",
                ) from None
            headers["Content-Type"] = "application/json"
        response = self.send(method, API + path, content=content, params=params, headers=headers)
        return response.json()

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried only while the connection cannot be made; errors raised as rmtc's."""
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                response = self.client.request(method, path, **kwargs)
                break
            except httpx.ConnectError as exc:
                if attempt + 1 < CONNECT_ATTEMPTS and _rewindable(kwargs.get("content")):
                    continue
                raise self.unreachable(exc) from None
            except httpx.TransportError as exc:
                raise self.unreachable(exc) from None
        raise_for_error(response, self.url)
        return response

    def unreachable(self, exc: Exception) -> StoreError:
        return StoreError(
            f"cannot reach the rmtc service at {self.url}: {type(exc).__name__}: {exc}",
            hint="check the URL and that `rmtc serve` is running there",
        )


def _rewindable(content: Any) -> bool:
    return content is None or isinstance(content, bytes)


def raise_for_error(response: httpx.Response, url: str) -> None:
    """Raise the rmtc error a failed response carries (the same class the service raised)."""
    if response.status_code < 400:
        return
    try:
        response.read()
        data = response.json()["error"]
        if not isinstance(data, dict):
            raise TypeError
    except (ValueError, KeyError, TypeError, httpx.HTTPError):
        raise StoreError(
            f"the rmtc service at {url} answered HTTP {response.status_code}",
            hint="check the service's log",
        ) from None
    raise RmtcError.from_dict(data)
