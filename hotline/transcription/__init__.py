"""Offline transcription of voice messages with Vosk (see pipeline.py for the way through).

`init_app` sets the defaults and registers the worker preload hook, so the
transcription worker loads every speech model once, before RQ forks.
"""

from __future__ import annotations

from flask import Flask

DEFAULTS = {
    #: The RQ queue (and Procfile process) transcription runs on, apart from SMS and callbacks.
    "ASR_QUEUE": "asr",
    #: Mean word confidence under which staff are told to listen rather than trust the text.
    "ASR_LOW_CONFIDENCE": 0.6,
    #: Pauses (seconds) between download tries while Twilio answers 404/5xx; then RQ retries the job.
    "ASR_DOWNLOAD_DELAYS": [1, 2, 4, 8],
}


def init_app(app: Flask) -> None:
    from .. import speech_models

    for name, value in DEFAULTS.items():
        app.config.setdefault(name, value)
    hooks = app.extensions.setdefault("hotline.worker_preload", [])
    for hook in (preload_jobs, speech_models.preload):
        if hook not in hooks:
            hooks.append(hook)


def preload_jobs(app: Flask) -> None:
    """Worker preload hook: import what a transcription job uses (numpy, soxr, Vosk, the
    pipeline) before RQ forks, so no job's work horse pays for it (the job itself,
    `workers.asr`, is a thin wrapper around the pipeline)."""
    queues = app.extensions.get("hotline.worker_queues")
    if queues is not None and app.config["ASR_QUEUE"] not in queues:
        return
    from . import audio, pipeline, recognise  # noqa: F401
