"""gunicorn settings for the web process (`gunicorn -c python:hotline.gunicorn_conf …`).

prometheus_client's multiprocess mode (hotline.metrics) needs PROMETHEUS_MULTIPROC_DIR
set before a worker imports it, and the folder emptied at each start (old files
would add a dead run's counts to the new one's). The master sets it here, before
it forks the workers: an operator's own folder is emptied, else a fresh temporary
one is made and removed when gunicorn exits.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_made: list[str] = []


def on_starting(server) -> None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        Path(path).mkdir(parents=True, exist_ok=True)
        for old in Path(path).glob("*.db"):
            old.unlink()
        return
    path = tempfile.mkdtemp(prefix="hotline-metrics-")
    _made.append(path)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def on_exit(server) -> None:
    for path in _made:
        shutil.rmtree(path, ignore_errors=True)
