# A throw-away PostgreSQL cluster (Debian's postgresql-15): initdb in a temp
# dir owned by the postgres user, the server run in the foreground on a Unix
# socket in that dir (optionally also a free loopback port, with TLS) and
# stopped by PID.  Tests run as root; the server runs as 'postgres'.
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from testenv import procs
from testenv.ports import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_USER = "postgres"
AS_PG = ["setpriv", "--reuid", PG_USER, "--regid", PG_USER, "--init-groups",
         "--"]
# trust for the superuser on the socket (psql below), passwords elsewhere
DEFAULT_HBA = [
    "local all %s trust" % PG_USER,
    "local all all scram-sha-256",
    "host all all 127.0.0.1/32 scram-sha-256",
]
# Django's own migration for django.contrib.sessions on PostgreSQL
SESSION_SCHEMA = """
CREATE TABLE "django_session" ("session_key" varchar(40) NOT NULL PRIMARY KEY,
  "session_data" text NOT NULL, "expire_date" timestamp with time zone NOT NULL);
CREATE INDEX "django_session_expire_date_a5c62663" ON "django_session" ("expire_date");
"""


class PostgresError(RuntimeError):
    pass


class PostgresCluster:
    def __init__(self, proc, *, base, port, tcp):
        self.proc = proc
        self.pid = proc.pid
        self.base = Path(base)          # also the socket directory
        self.socket_dir = str(base)
        self.port = port                # socket name .s.PGSQL.<port>
        self.tcp = tcp                  # listening on 127.0.0.1:port too
        self.log = self.base / "postgres.log"

    def __repr__(self):
        return "<PostgresCluster pid %d %s port %d>" % (
            self.pid, self.base, self.port)

    def psql(self, sql, db="postgres"):
        """Run SQL as the superuser over the socket; stdout (-qAt)."""
        r = subprocess.run(AS_PG + [PG_BIN / "psql", "-h", self.socket_dir,
                                    "-p", str(self.port), "-d", db,
                                    "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise PostgresError("psql %r failed: %s" % (sql, r.stderr))
        return r.stdout

    def rows(self, sql, db):
        """The first column of SQL's rows, as a set of strings."""
        return set(self.psql(sql, db=db).split())

    def create_role(self, name, password=None, options=""):
        """CREATE ROLE NAME (LOGIN with PASSWORD, any characters but
        '$pw$'; NOLOGIN without) OPTIONS."""
        assert password is None or "$pw$" not in password
        login = ("LOGIN PASSWORD $pw$%s$pw$" % password if password
                 else "NOLOGIN")
        self.psql("CREATE ROLE %s %s %s" % (name, login, options))

    def create_db(self, name, owner=PG_USER, template=None):
        sql = "CREATE DATABASE %s OWNER %s" % (name, owner)
        if template:
            sql += " TEMPLATE %s" % template
        self.psql(sql)

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout=10.0):
        """Stop the server by PID (SIGTERM, then SIGKILL) and remove it all."""
        try:
            return procs.stop(self.proc, timeout=timeout)
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _self_signed(base):
    key, crt = base / "server.key", base / "server.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True)
    for f in (key, crt):
        shutil.chown(f, PG_USER, PG_USER)
    os.chmod(key, 0o600)
    return key, crt


def start_postgres(*, tcp=False, ssl=False, hba=None, startup_timeout=30.0):
    """initdb + postgres in the foreground in a new temp dir under /tmp (the
    postgres user must reach it, which pytest's 0700 tmp_path forbids).

    TCP: also listen on 127.0.0.1 on a free port (else only the socket).
    SSL: self-signed certificate, ssl=on.  HBA: pg_hba.conf lines (default
    DEFAULT_HBA).  Connections are logged.  Raises PostgresError.
    """
    base = Path(tempfile.mkdtemp(prefix="owctl-pg-"))
    try:
        shutil.chown(base, PG_USER, PG_USER)
        data = base / "data"
        r = subprocess.run(AS_PG + [PG_BIN / "initdb", "-D", str(data),
                                    "-A", "trust", "-U", PG_USER],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise PostgresError("initdb failed: %s" % r.stderr)
        (data / "pg_hba.conf").write_text(
            "\n".join(hba if hba is not None else DEFAULT_HBA) + "\n")
        port = free_port("127.0.0.1")
        conf = ["unix_socket_directories = '%s'" % base,
                "listen_addresses = '%s'" % ("127.0.0.1" if tcp else ""),
                "port = %d" % port,
                "log_connections = on",
                "fsync = off"]
        if ssl:
            key, crt = _self_signed(base)
            conf += ["ssl = on", "ssl_cert_file = '%s'" % crt,
                     "ssl_key_file = '%s'" % key]
        with open(data / "postgresql.conf", "a") as f:
            f.write("\n".join(conf) + "\n")
        log = base / "postgres.log"
        proc = procs.spawn(AS_PG + [PG_BIN / "postgres", "-D", data],
                           name="postgres %s" % base, log=log, cwd=base)
        pg = PostgresCluster(proc, base=base, port=port, tcp=tcp)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    deadline = time.monotonic() + startup_timeout
    while time.monotonic() < deadline and proc.poll() is None:
        r = subprocess.run(AS_PG + [PG_BIN / "pg_isready", "-q", "-h",
                                    str(base), "-p", str(port)])
        if r.returncode == 0:
            return pg
        time.sleep(0.1)
    text = pg.log_text()
    pg.stop()
    raise PostgresError("postgres did not start:\n%s" % text[-3000:])
