"""A real, throwaway PostgreSQL server for tests and benchmarks.

:meth:`PostgresServer.start` runs ``initdb`` and ``pg_ctl start`` in a fresh temporary directory: the
server listens on a free loopback port (password login, a random password) and on a unix socket inside
that directory, with durability switched off for speed (``fsync``, ``synchronous_commit``,
``full_page_writes``). Each process starts its own server, so pytest-xdist workers never share one.
:meth:`stop` shuts it down and removes the directory (also at interpreter exit, if a test run is cut
short).

PostgreSQL refuses to run as root: when the tests run as root, ``initdb``, ``pg_ctl`` and the server run
as the ``postgres`` user (through ``runuser`` or ``su``), and the directory is handed to that user.

Fresh databases are cheap: :meth:`create_database` with ``template=`` copies a database that was
prepared once (for rmtc, one already migrated), which takes milliseconds.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

SERVER_USER = "postgres"
SUPERUSER = "rmtc"


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server programs are not installed (or cannot be run here)."""


def find_bindir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``: ``$RMTC_PG_BINDIR``, then
    ``pg_config --bindir``, then the newest ``/usr/lib/postgresql/*/bin``, then ``$PATH``."""
    candidates: list[Path] = []
    if os.environ.get("RMTC_PG_BINDIR"):
        candidates.append(Path(os.environ["RMTC_PG_BINDIR"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(out.stdout.strip()))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version_key(p.parent.name))
    candidates.extend(reversed(versions))
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    return None


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One running server. Use :meth:`start`; :meth:`stop` (or ``with``) when done."""

    def __init__(
        self,
        root: Path,
        bindir: Path,
        port: int,
        password: str,
        run_as: str | None,
        settings: Mapping[str, str] | None = None,
    ):
        self.root = root
        self.bindir = bindir
        self.port = port
        self.password = password
        self.user = SUPERUSER
        self.host = "127.0.0.1"
        self.socket_dir = root / "sock"
        self._run_as = run_as
        self._settings = dict(settings or {})
        self._stopped = False

    # -- lifecycle -----------------------------------------------------------------------------------
    @classmethod
    def start(
        cls, *, bindir: Path | None = None, attempts: int = 5, settings: Mapping[str, str] | None = None
    ) -> PostgresServer:
        """Initialise and start a server in a new temporary directory. ``settings`` are
        ``postgresql.conf`` lines that replace the defaults here (a benchmark sizes its buffers as a
        facility's server would; tests keep the small ones).

        Raises:
            PostgresUnavailable: the server programs are missing, or the server would not start.
        """
        bindir = bindir or find_bindir()
        if bindir is None:
            raise PostgresUnavailable(
                "PostgreSQL server programs (initdb, pg_ctl) not found; install them with "
                "`apt-get install postgresql` or set RMTC_PG_BINDIR"
            )
        run_as = SERVER_USER if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="rmtc-pg-"))
        server = cls(root, bindir, 0, secrets.token_urlsafe(18), run_as, settings)
        try:
            server._initdb()
            last = ""
            for _ in range(attempts):
                server.port = free_port()
                last = server._try_start()
                if not last:
                    atexit.register(server.stop)
                    return server
            raise PostgresUnavailable(f"PostgreSQL would not start in {root}: {last}")
        except BaseException:
            server._remove()
            raise

    def _initdb(self) -> None:
        (self.root / "sock").mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._run_as:
            entry = pwd.getpwnam(self._run_as)
            for path in (self.root, self.root / "sock", pwfile):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.root / "data"),
            "-U",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        pwfile.unlink()
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "64MB",
            "log_min_messages": "warning",
            "timezone": "'UTC'",
            **self._settings,
        }
        with (self.root / "data" / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())

    def _try_start(self) -> str:
        """Start on ``self.port``; returns "" on success, else why not."""
        log = self.root / "server.log"
        try:
            self._run(
                "pg_ctl",
                "-D",
                str(self.root / "data"),
                "-l",
                str(log),
                "-w",
                "-t",
                "60",
                "-o",
                f"-p {self.port}",
                "start",
            )
            return ""
        except PostgresUnavailable as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            return f"{exc}\n{tail}"

    def stop(self) -> None:
        """Stop the server and remove its directory (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(PostgresUnavailable):
            self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "-t", "60", "stop")
        self._remove()
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def _remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bindir / tool), *args]
        if self._run_as:
            runuser = shutil.which("runuser")
            if runuser:
                cmd = [runuser, "-u", self._run_as, "--", *cmd]
            else:
                cmd = ["su", self._run_as, "-s", "/bin/sh", "-c", " ".join(_shell_quote(c) for c in cmd)]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=self.root, timeout=120)
        if proc.returncode != 0:
            raise PostgresUnavailable(
                f"{tool} failed ({proc.returncode}): {(proc.stderr or proc.stdout).strip()}"
            )

    # -- databases -----------------------------------------------------------------------------------
    def url(self, database: str = "postgres", *, driver: str = "postgresql+psycopg") -> str:
        """A URL for ``database`` with the superuser's credentials."""
        return f"{driver}://{SUPERUSER}:{quote(self.password, safe='')}@{self.host}:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple[Any, ...]]:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that); returns its rows."""
        import psycopg

        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=SUPERUSER,
            password=self.password,
            dbname=database,
            autocommit=True,
            connect_timeout=10,
        ) as conn:
            cur = conn.execute(sql.encode())
            return list(cur.fetchall()) if cur.description else []

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create an empty database (or a copy of ``template``, which nobody may be connected to) and
        return its URL."""
        suffix = f" TEMPLATE {_ident(template)}" if template else ""
        self.execute(f"CREATE DATABASE {_ident(name)}{suffix}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {_ident(name)} WITH (FORCE)")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _shell_quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"
