"""Path traversal: hundreds of hostile payloads in every path parameter of every route (found from
``app.routes``, so new routes are covered), sent both as raw request targets and percent-encoded. A
canary file sits outside the served root: it must never be served, and no answer may be a 5xx."""

from __future__ import annotations

import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import httpx
import pytest

from rmtc.testing.server import flat_routes

TARGETS = ("etc/passwd", "windows/win.ini", "canary.txt", "served/rmtc.db")
STEPS = ("../", "..\\", "..%2f", "%2e%2e%2f", "%2e%2e/", ".%2e/", "%2e./", "..%5c", "%252e%252e%252f",
         "..%255c", "..%c0%af", "%c0%ae%c0%ae/", "..%e0%80%af", "....//", "..;/", "..%00/", "%uff0e%uff0e/",
         "\uff0e\uff0e/", "\u2024\u2024/", "..\u2215", "..%u2215")  # fmt: skip


def payloads(canary: str) -> list[str]:
    found: list[str] = []
    for step in STEPS:
        for depth in (1, 6):
            for target in TARGETS:
                found.append(step * depth + target)
    found += [
        "/etc/passwd", canary, "file:///etc/passwd", f"file://{canary}", "\\\\server\\share\\x",
        "//server/share/x", "C:\\Windows\\win.ini", "C:/Windows/win.ini", "..", ".", "...", "%2e%2e", "%2e",
        "..%00", "x%00.txt", "x\x00.txt", "%00", "#", "..#", "x#../../etc/passwd", ";", "..;", "x;../../etc",
        "%3b", "%23", "%2f", "%5c", "~", "~root", "$HOME", "${HOME}", "`id`", "$(id)", "*", "?", "x?y=../..",
        "a" * 5000, "%" * 10, "%zz", "\ud7ff", "\u202e" + "txt.exe", "\u0000", "CON", "NUL", "aux.txt",
        "0" * 63 + "/", "0" * 64 + "/../../" + "0" * 64, "rmtc://../../etc/passwd", "http://169.254.169.254/",
    ]  # fmt: skip
    return list(dict.fromkeys(found))


def _sends(payload: str) -> list[tuple[str, bytes | None]]:
    """The payload as a raw target piece (when it is sendable as such) and percent-encoded."""
    ways: list[tuple[str, bytes | None]] = [("quoted", quote(payload, safe="").encode())]
    raw = quote(payload, safe="/\\%.;#?:~*$`(){}!@&=+,'")
    ways.append(("raw", raw.encode()))
    return ways


@pytest.mark.slow
def test_no_payload_in_any_path_parameter_escapes_or_breaks_the_service(served, tmp_path):
    secret = secrets.token_hex(16)
    canary = tmp_path / "canary.txt"
    canary.write_text(secret)
    all_payloads = payloads(str(canary))
    assert len(all_payloads) >= 200
    valid = {"project": "default", "entity_id": "00000000-0000-4000-8000-000000000000", "digest": "0" * 64}
    headers = {"Authorization": f"Bearer {served.admin_token}"}
    requests = []
    for method, route_path, _ in flat_routes(served.app):
        params = re.findall(r"\{(\w+)\}", route_path)
        for param in params:
            path = route_path
            for other in params:
                if other != param:
                    path = path.replace(f"{{{other}}}", valid.get(other, valid["entity_id"]))
            for payload in all_payloads:
                for how, piece in _sends(payload):
                    target = path.replace(f"{{{param}}}", "\x00").encode().replace(b"\x00", piece)
                    requests.append((method, target, f"{method} {route_path} {param}={payload!r} ({how})"))

    def send(client: httpx.Client, method: str, target: bytes) -> httpx.Response:
        body = b"{}" if method in ("POST", "PUT") else None
        kind = {"Content-Type": "application/json"} if body else None
        return client.request(method, "/", content=body, headers=kind, extensions={"target": target})

    with (
        httpx.Client(base_url=served.url, headers=headers, timeout=60) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        answers = pool.map(lambda r: (r[2], send(client, r[0], r[1])), requests)
        problems = [
            f"{what}: {a.status_code}"
            for what, a in answers
            if a.status_code >= 500 or secret in a.text or "root:x:0:0" in a.text
        ]
    tried = len(requests)
    assert tried >= 200 * 2 * 10
    assert problems == []
    assert canary.read_text() == secret
