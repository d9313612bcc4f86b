"""Connecting to an MLflow tracking URI: the default store, a reachability check that fails in
seconds instead of minutes of retries, and MLflow's logging kept out of the CLI's output."""

from __future__ import annotations

import os
import socket
import urllib.error
import urllib.parse
import urllib.request

from ..errors import TrackingError

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def tracking_uri(uri: str | None = None) -> str:
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def existing_store(uri: str | None) -> str:
    """The URI, after checking that a local SQLite store exists: looking up models must not create
    an empty `mlflow.db` wherever it is run."""
    resolved = tracking_uri(uri)
    if resolved.startswith("sqlite:///"):
        path = resolved[len("sqlite:///"):]
        if not os.path.exists(path):
            raise TrackingError(f"no tracking store at {path} ({resolved}); train with tracking first, or point "
                                f"--tracking-uri (or $MLFLOW_TRACKING_URI) at your store")
    return resolved


def connect(uri: str | None, write: bool = False):
    """Import mlflow configured for `uri`, with fast failure instead of minutes of retries; with
    `write`, the store must also take writes (a training's run), checked before any work starts."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import logging
    import warnings

    import mlflow

    # MLflow's INFO lines and advice warnings would drown the CLI's own output.
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"mlflow\.")

    resolved = tracking_uri(uri)
    check_reachable(resolved)
    if write:
        check_writable(resolved)
    mlflow.set_tracking_uri(with_connect_timeout(resolved))
    return mlflow


def check_writable(uri: str) -> None:
    """A store that answers but refuses writes (a read-only SQLite file or folder, a read-only
    database replica) failed a training seconds in, with MLflow's SQL and two tracebacks."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme == "sqlite":
        _check_sqlite_writable(uri)
    elif scheme in DATABASE_SCHEMES:
        _check_database_writable(uri)
    elif scheme == "file" or "://" not in uri:  # a folder of runs
        path = urllib.parse.urlsplit(uri).path if scheme == "file" else uri
        _check_folder_writable(uri, path)


def _refused(uri: str, reason: str) -> TrackingError:
    return TrackingError(f"tracking store {redacted(uri)} does not accept writes ({reason}); fix its permissions, "
                         f"point --tracking-uri elsewhere, or train with --no-track")


def _check_folder_writable(uri: str, folder: str) -> None:
    import tempfile

    path = os.path.abspath(folder or ".")
    existing = path
    while not os.path.exists(existing):  # the store's folder is made on first use: its parent must take it
        existing = os.path.dirname(existing)
    try:
        with tempfile.NamedTemporaryFile(dir=existing if os.path.isdir(existing) else os.path.dirname(existing),
                                         prefix=".sentiment-rnn-write-check-"):
            pass
    except OSError as exc:
        raise _refused(uri, f"{existing}: {exc.strerror}") from None


def _check_sqlite_writable(uri: str) -> None:
    import sqlite3

    path = uri.split(":///", 1)[1] if ":///" in uri else ""
    if not path or path == ":memory:":
        return
    path = path.split("?", 1)[0]
    _check_folder_writable(uri, os.path.dirname(os.path.abspath(path)))  # SQLite writes its journal beside the file
    if not os.path.exists(path):
        return
    try:
        connection = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=5)
        try:
            connection.execute("BEGIN IMMEDIATE")  # takes the write lock, as a run's first write would
            connection.rollback()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise _refused(uri, f"{path}: {exc}") from None


def _check_database_writable(uri: str) -> None:
    import sqlalchemy

    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    query = {"postgresql": "SHOW transaction_read_only", "mysql": "SELECT @@read_only"}.get(scheme)
    if query is None:
        return
    try:
        engine = sqlalchemy.create_engine(with_connect_timeout(uri))
        try:
            with engine.connect() as connection:
                value = str(connection.execute(sqlalchemy.text(query)).scalar()).lower()
        finally:
            engine.dispose()
    except Exception as exc:  # the driver's own error, reduced to its first line
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise _refused(uri, reason) from None
    if value in ("on", "1", "true"):
        raise _refused(uri, "the database is read-only")


DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}
CONNECT_TIMEOUT_S = 5


def with_connect_timeout(uri: str) -> str:
    """PostgreSQL and MySQL drivers wait forever for a server that accepts the connection and then
    says nothing; their `connect_timeout` parameter bounds it (unless the URI sets its own)."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    parts = urllib.parse.urlsplit(uri)
    if scheme not in ("postgresql", "mysql") or "connect_timeout=" in parts.query:
        return uri
    query = "&".join(filter(None, [parts.query, f"connect_timeout={CONNECT_TIMEOUT_S}"]))
    return urllib.parse.urlunsplit(parts._replace(query=query))


def redacted(uri: str) -> str:
    """The URI with its password hidden, for messages."""
    parts = urllib.parse.urlsplit(uri)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return uri


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """A server or database URI must answer within `timeout`, before any work starts (MLflow would
    otherwise retry for minutes)."""
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in DATABASE_SCHEMES:
        parts = urllib.parse.urlsplit(uri)
        host, port = parts.hostname or "localhost", parts.port or DEFAULT_PORTS[scheme]
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as exc:
            raise TrackingError(f"tracking database {redacted(uri)} is not reachable ({exc.strerror or exc}); start "
                                f"it, fix --tracking-uri, or train with --no-track") from None
        _check_database_answers(uri)
        return
    if not uri.startswith(("http://", "https://")):
        return
    # /health is answered by the web server alone; the API call needs the server's store as well.
    # Credentials in the URI (user:password@host, as requests and so MLflow accept them) go in a
    # header: urllib would take them for part of the host name.
    parts = urllib.parse.urlsplit(uri)
    headers = {}
    if parts.username is not None:
        import base64

        token = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
        host = (f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname) + (f":{parts.port}" if parts.port else "")
        uri_for_check = urllib.parse.urlunsplit(parts._replace(netloc=host))
    else:
        uri_for_check = uri
    for path in ("/health", "/api/2.0/mlflow/experiments/search?max_results=1"):
        try:
            request = urllib.request.Request(uri_for_check.rstrip("/") + path, headers=headers)
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read()
        except urllib.error.HTTPError:
            pass  # it answered (an error status is MLflow's to explain, with its own message)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise TrackingError(f"tracking server {redacted(uri)} is not reachable ({reason} on {path.split('?')[0]}); "
                                f"start it, fix --tracking-uri, or train with --no-track") from None


def _check_database_answers(uri: str) -> None:
    """A database port can accept connections and never answer (a stuck server, a wrong service on
    the port): open one real connection, within the driver's connect timeout."""
    import sqlalchemy

    try:
        engine = sqlalchemy.create_engine(with_connect_timeout(uri))
        try:
            engine.connect().close()
        finally:
            engine.dispose()
    except Exception as exc:  # the driver's own error, reduced to its first line
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise TrackingError(f"tracking database {redacted(uri)} did not accept a connection ({reason}); start it, fix "
                            f"--tracking-uri, or train with --no-track") from None


def ui_hint(uri: str) -> str:
    if uri.startswith(("http://", "https://")):
        return uri
    return f"mlflow ui --backend-store-uri {uri}"


def describe_failure(exc: BaseException) -> str:
    """MLflow's errors quote whole retry chains; the gist is the first line, and for a timeout, that."""
    text = str(exc).strip()
    if "Read timed out" in text:
        return "no answer within the request timeout (MLFLOW_HTTP_REQUEST_TIMEOUT)"
    if "Connection refused" in text or "Failed to establish a new connection" in text:
        return "connection refused"
    first = text.splitlines()[0] if text else type(exc).__name__
    return first if len(first) <= 300 else first[:300] + " ..."
