"""Transcription jobs, on their own queue ("asr") and worker process (Procfile `asr:`),
so a burst of voice messages never delays SMS or callbacks.

Runs inside the app context `hotline worker -q asr` pushed, with the speech
models already loaded by the preload hook before RQ forked.
"""

from __future__ import annotations

from hotline import jobs
from hotline.transcription import pipeline


@jobs.transcribe_voice_message.implementation
def transcribe_voice_message(voice_message_id: int) -> str:
    """Download, decode and transcribe one voice message; a second run changes nothing."""
    return pipeline.transcribe(voice_message_id)
