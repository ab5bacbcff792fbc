"""The metadata store over HTTP: a client of ``rmtc serve`` implementing the same protocol and raising
the same :mod:`rmtc.errors` classes.

Registered for the ``http`` and ``https`` schemes of the ``rmtc.stores`` entry-point group. This module
is loaded whenever the plug-in registry scans, so it imports nothing heavy: ``httpx`` loads inside the
factory, when a store is actually opened.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rmtc.store.remote.store import RemoteStore


def open_remote(url: str, *, create: bool = False, token: str | None = None) -> RemoteStore:
    """Open the store behind the service at ``http(s)://host:port``.

    The token comes from ``token`` or the ``RMTC_TOKEN`` environment variable. ``create`` changes
    nothing: the service's administrator creates the store. The service is asked once, here, who the
    token belongs to, so a wrong URL or token fails now with a clear error rather than later.

    Raises:
        InvalidInput: not an http(s) URL. StoreError: the service cannot be reached.
        Unauthorized: no token, or a token the service does not accept.
    """
    from rmtc.store.remote.http import Session
    from rmtc.store.remote.store import RemoteStore

    store = RemoteStore(Session(url, token))
    try:
        store.info()
    except BaseException:
        store.close()
        raise
    return store
