"""The worker process: build the app once, load what is heavy, then let RQ fork.

Started through `hotline worker` (see the Procfile), never `rq worker`, so every
job runs inside the app context with the configuration already loaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from flask import Flask
from rq import Queue, Worker

from hotline.extensions import db
from hotline.queueing import get_redis

#: Functions run once per worker process before it starts taking jobs
#: (e.g. loading a speech model); subsystems append to it in their init_app.
PRELOAD_HOOK = "hotline.worker_preload"


def run_worker(
    app: Flask, queues: Sequence[str], *, burst: bool = False, with_scheduler: bool = True
) -> bool:
    redis = get_redis()
    if redis is None:
        raise RuntimeError("no Redis configured: set REDIS_URL or start `hotline up`")
    app.extensions["hotline.worker_queues"] = tuple(queues)  # preload hooks load only what these need
    for preload in app.extensions.get(PRELOAD_HOOK, []):
        preload(app)
    engine = db.engine
    # A forked work horse must not reuse the parent's database connections.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    worker = Worker([Queue(name, connection=redis) for name in queues], connection=redis)
    return worker.work(burst=burst, with_scheduler=with_scheduler)
