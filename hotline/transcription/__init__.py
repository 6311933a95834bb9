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
    if speech_models.preload not in hooks:
        hooks.append(speech_models.preload)
