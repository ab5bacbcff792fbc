"""Run the service under uvicorn (``rmtc serve``), with logs that never hold a token.

Tokens travel only in the ``Authorization`` header, which nothing logs; as a second line of defence
the access log drops the values of query parameters that look like credentials, and anything shaped
like an rmtc token is masked from every record of the service's loggers.

``python -m rmtc.server.run STORE --fd N`` serves on an already listening socket (tests start the
service as a child process that way, so it is reachable the moment it is started).
"""

from __future__ import annotations

import argparse
import logging
import re
import socket
from typing import Any

import uvicorn

from rmtc.server.app import create_app
from rmtc.server.settings import ServerSettings

_TOKEN = re.compile(r"rmtc_[0-9a-f]{16}_[A-Za-z0-9_-]+")
_SECRET_PARAM = re.compile(r"((?:token|access_token|key|secret|password|auth)=)[^&\s\"]*", re.IGNORECASE)
LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "rmtc.server")


class RedactSecrets(logging.Filter):
    """Mask anything shaped like an rmtc token, and credential-like query values, in a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = (
                tuple(_redact(a) for a in record.args) if isinstance(record.args, tuple) else record.args
            )
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        return True


def _redact(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return _SECRET_PARAM.sub(r"\1[redacted]", _TOKEN.sub("rmtc_[redacted]", value))


def install_redaction() -> None:
    """Add :class:`RedactSecrets` to the service's loggers (idempotent)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())


def config(settings: ServerSettings, *, log_level: str = "info") -> uvicorn.Config:
    """The uvicorn configuration serving ``settings``."""
    app = create_app(settings)
    return uvicorn.Config(
        app,
        log_level=log_level,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=30,
        limit_concurrency=1000,
        host=settings.host,
        port=settings.port,
    )


def serve(settings: ServerSettings, *, fd: int | None = None, log_level: str = "info") -> None:
    """Serve until interrupted (on the listening socket ``fd`` when given)."""
    server = uvicorn.Server(config(settings, log_level=log_level))
    install_redaction()  # after uvicorn.Config, which configures the loggers
    # socket(fileno=) reads the real family and protocol (uvicorn's own fd= assumes AF_UNIX, so
    # asyncio would not set TCP_NODELAY and every answer would wait for a delayed ACK).
    server.run(sockets=[socket.socket(fileno=fd)] if fd is not None else None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m rmtc.server.run")
    parser.add_argument("store")
    parser.add_argument("--blobs")
    parser.add_argument("--fd", type=int)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    settings = ServerSettings(store=args.store, blobs=args.blobs, host=args.host, port=args.port)
    serve(settings, fd=args.fd, log_level=args.log_level)


if __name__ == "__main__":
    main()
