"""How ``rmtc serve`` is configured: which store, where to listen, and the limits on what clients send."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Settings of one service process.

    Args:
        store: the project folder or store URL the service serves (``rmtc serve --store``).
        blobs: the blob store, when not the project's own.
        host: the interface to listen on; loopback by default, so exposing the service is a choice.
        port: the TCP port.
        max_json_body: the largest JSON request body accepted (413 above).
        max_blob_size: the largest blob upload accepted (413 above).
        docs: serve the OpenAPI document and ``/docs``.
    """

    store: str
    blobs: str | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    max_json_body: int = 32 * MIB
    max_blob_size: int = 256 * 1024 * MIB
    docs: bool = True
