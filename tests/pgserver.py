"""A private PostgreSQL server for the test session, on loopback, in a temporary folder.

`PgServer.start()` runs initdb + pg_ctl (as the `postgres` user when we are root, since
PostgreSQL refuses to run as root), with trust auth on 127.0.0.1 and a free port.
`DUNBOT_TEST_PG_URL` (postgresql+psycopg://user@host:port/db) uses that server instead.
Each test gets its own database from `create_database()`.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ENV_URL = "DUNBOT_TEST_PG_URL"
INSTALL_HINT = (
    "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run `.ci/run`, or "
    "`apt-get install postgresql`, or set DUNBOT_TEST_PG_URL to a server's URL"
)


def find_bindir() -> Path:
    """The newest installed PostgreSQL's bin folder; RuntimeError with the fix if none."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    if not found:
        raise RuntimeError(INSTALL_HINT)
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """A running server: `url(db)` builds SQLAlchemy URLs; `create/drop_database` per test."""

    def __init__(
        self, base_url: str, *, home: Path | None = None, bindir: Path | None = None
    ) -> None:
        self.base_url = make_url(base_url)
        self.home, self.bindir = home, bindir

    @classmethod
    def start(cls) -> PgServer:
        if os.environ.get(ENV_URL):
            return cls(os.environ[ENV_URL])
        bindir = find_bindir()
        home = Path(tempfile.mkdtemp(prefix="dunbot-pg-"))
        server = cls("postgresql+psycopg://postgres@127.0.0.1:1/postgres", home=home, bindir=bindir)
        try:
            server._boot()
        except BaseException:
            server.stop()
            raise
        return server

    def _as_postgres(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _boot(self) -> None:
        assert self.home is not None and self.bindir is not None
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.home, user.pw_uid, user.pw_gid)
            _open_parents(self.home)
        data, port = self.home / "data", free_port()
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ]
        )
        options = f"-k {self.home} -h 127.0.0.1 -p {port} -F -c max_connections=200"
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(self.home / "log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )
        self.base_url = self.base_url.set(port=port)

    def _run(self, argv: list[str]) -> None:
        done = subprocess.run(
            self._as_postgres() + argv, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            log = self.home / "log" if self.home else None
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}{tail}"
            )

    def stop(self) -> None:
        """Stop the private server and delete its folder (nothing for an external server)."""
        if self.home is None or self.bindir is None:
            return
        data = self.home / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run(
                self._as_postgres()
                + [str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.home, ignore_errors=True)
        self.home = None

    def url(self, database: str) -> str:
        return self.base_url.set(database=database).render_as_string(hide_password=False)

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        url = self.base_url
        return psycopg.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            dbname=url.database or "postgres",
            autocommit=True,
        )

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"dunbot_test_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def connections_to(self, database: str) -> int:
        with self._admin() as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
            ).fetchone()
        return int(str(row[0])) if row else 0

    def drop_database(self, database: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _open_parents(path: Path) -> None:
    """Let the postgres user walk down to `path` (o+x on each parent folder)."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            os.chmod(parent, mode | 0o001)
