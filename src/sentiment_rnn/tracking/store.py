"""Connecting to an MLflow tracking URI: the default store, a reachability check that fails in
seconds instead of minutes of retries, and MLflow's logging kept out of the CLI's output."""

from __future__ import annotations

import os
import urllib.error
import urllib.request

from ..errors import TrackingError

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"


def tracking_uri(uri: str | None = None) -> str:
    return uri or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def connect(uri: str | None):
    """Import mlflow configured for `uri`, with fast failure instead of minutes of retries."""
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
    mlflow.set_tracking_uri(resolved)
    return mlflow


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """A server URI must answer its health check within `timeout`, before any work starts."""
    if not uri.startswith(("http://", "https://")):
        return
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as response:
            response.read()
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackingError(f"tracking server {uri} is not reachable ({reason}); start it, fix --tracking-uri, "
                            f"or train with --no-track") from None


def ui_hint(uri: str) -> str:
    if uri.startswith(("http://", "https://")):
        return uri
    return f"mlflow ui --backend-store-uri {uri}"
