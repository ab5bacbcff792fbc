"""A real rmtc service on loopback for tests: load with ``pytest_plugins = ["rmtc.testing.server"]``.

- :class:`LiveServer` runs the real app under uvicorn on ``127.0.0.1`` and a free port, in a thread
  (:meth:`LiveServer.start`) or a child process (:meth:`LiveServer.spawn`, for tests that kill it).
  The listening socket is bound before the server starts, so it is reachable at once: no polling.
- ``live_server`` (fixture): one over a fresh store of each backend (``store_url``: SQLite, and
  PostgreSQL where available) with a local blob store; ``.url``, ``.admin_token``,
  ``.make_token(role, projects)``.

There are no default credentials in the service: the fixture creates its admin the way an
administrator does (``AuthStore.add_user``, what ``rmtc user add`` calls), directly in the database.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from rmtc.server.settings import ServerSettings
from rmtc.store.sql.auth import ALL_PROJECTS, AuthStore, Role


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to a free port and already listening (connections queue until served)."""
    # proto=IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    return sock


def prepare_store(store_url: str, blobs: Path) -> None:
    """Create the store's schema and the blob directory the service will serve."""
    from rmtc.blobs.local import open_local
    from rmtc.testing.fixtures import open_store

    open_store(store_url, create=True).close()
    open_local(blobs, create=True)


class LiveServer:
    """One running service. Use :meth:`start` or :meth:`spawn`, then :meth:`stop`."""

    def __init__(self, settings: ServerSettings, sock: socket.socket):
        self.settings = settings
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self.admin_token = ""
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self.process: subprocess.Popen[bytes] | None = None
        self._auth: AuthStore | None = None
        self._auth_store: Any = None
        self._log: Path | None = None
        self._log_level = "info"

    # -- starting and stopping -----------------------------------------------------------------------
    @classmethod
    def start(cls, settings: ServerSettings, *, admin: str = "admin") -> LiveServer:
        """Serve in a thread of this process."""
        import uvicorn

        from rmtc.server.run import config as server_config
        from rmtc.server.run import install_redaction

        live = cls(settings, listening_socket())
        live._init_admin(admin)
        config = server_config(settings, log_level="warning")
        install_redaction()
        live._server = uvicorn.Server(config)
        live._thread = threading.Thread(
            target=live._server.run, kwargs={"sockets": [live._sock]}, name="rmtc-live-server", daemon=True
        )
        live._thread.start()
        return live

    @classmethod
    def spawn(
        cls,
        settings: ServerSettings,
        *,
        admin: str = "admin",
        log: Path | None = None,
        log_level: str = "info",
    ) -> LiveServer:
        """Serve in a child process (``python -m rmtc.server.run``) on a socket bound here; its output
        goes to ``log``. Kill it with :meth:`kill` to test crashes."""
        live = cls(settings, listening_socket())
        live._init_admin(admin)
        live._log, live._log_level = log, log_level
        live.respawn()
        return live

    def respawn(self) -> None:
        """Start a (new) child process serving the same socket, after :meth:`kill`."""
        fd = self._sock.fileno()
        args = [sys.executable, "-m", "rmtc.server.run", self.settings.store, "--fd", str(fd)]
        args += ["--log-level", self._log_level]
        log = self._log
        if self.settings.blobs:
            args += ["--blobs", self.settings.blobs]
        out = log.open("ab") if log is not None else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(args, pass_fds=(fd,), stdout=out, stderr=subprocess.STDOUT)
        finally:
            if log is not None:
                out.close()  # type: ignore[union-attr]

    def kill(self) -> None:
        """SIGKILL the child process: no shutdown, no flush, like a power cut for the process."""
        assert self.process is not None, "kill() is for spawn()ed servers"
        self.process.kill()
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            if self._thread is not None:
                self._thread.join(timeout=30)
            self._server = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._sock.close()
        if self._auth_store is not None:
            self._auth_store.close()
            self._auth_store = None

    def __enter__(self) -> LiveServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def app(self) -> Any:
        """The ASGI app of a server started in this process (for tests built from ``app.routes``)."""
        assert self._server is not None, "app is only known for start()ed servers"
        return self._server.config.app

    # -- users and tokens ----------------------------------------------------------------------------
    @property
    def auth(self) -> AuthStore:
        assert self._auth is not None
        return self._auth

    def _init_admin(self, admin: str) -> None:
        from rmtc.testing.fixtures import open_store

        self._auth_store = open_store(self.settings.store)
        self._auth = AuthStore(self._auth_store.database)
        self.admin_token = self.make_token(Role.admin, user=admin)

    def make_token(
        self, role: Role | str, projects: Sequence[str] = (ALL_PROJECTS,), *, user: str | None = None
    ) -> str:
        """A token of a new user (or of ``user``, created when missing) with ``role`` and ``projects``."""
        role = Role.parse(role) if isinstance(role, str) else role
        name = user or f"{role.name}-{uuid.uuid4().hex[:8]}"
        if name not in {u.name for u in self.auth.users()}:
            self.auth.add_user(name, role, projects)
        return self.auth.create_token(name)[1]


def flat_routes(app: Any) -> list[tuple[str, str, Any]]:
    """Every ``(method, path, route)`` the app answers, included routers flattened (FastAPI >= 0.13x
    keeps included routers as lazy entries of ``app.routes``). HEAD and OPTIONS are left out."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes is already flat
        contexts: list[Any] = list(app.routes)
    else:
        contexts = list(iter_route_contexts(app.routes))
    found = []
    for route in contexts:
        methods = getattr(route, "methods", None) or set()
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            found.append((method, route.path, getattr(route, "route", route)))
    return found


def serve_store(store_url: str, blobs: Path, *, admin: str = "admin", **settings: Any) -> LiveServer:
    """Create the store and blob directory if needed and serve them in a thread."""
    prepare_store(store_url, blobs)
    return LiveServer.start(ServerSettings(store=store_url, blobs=str(blobs), **settings), admin=admin)


@pytest.fixture
def live_server(store_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """A service over a fresh store of each backend, with an admin token."""
    live = serve_store(store_url, tmp_path / "served-blobs")
    try:
        yield live
    finally:
        live.stop()
