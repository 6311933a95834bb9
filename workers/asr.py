"""Transcription jobs, on their own queue ("asr") and worker process (Procfile `asr:`),
so a burst of voice messages never delays SMS or callbacks.

Runs inside the app context `hotline worker -q asr` pushed, with the speech
models already loaded by the preload hook before RQ forked.
"""

from __future__ import annotations

from hotline import jobs
from hotline.extensions import db
from hotline.transcription import pipeline
from hotline.unit_of_work import unit_of_work


@jobs.transcribe_voice_message.implementation
def transcribe_voice_message(voice_message_id: int) -> str:
    """Download, decode and transcribe one voice message; a second run changes nothing.

    Unlike other jobs, several units of work, each committed before the next step starts:
    the row marked running (so a second worker that sees it leaves it alone during the
    minutes a transcription takes), then the downloaded recording's path (staff can play it,
    and a re-run reuses the file, even when recognition then fails), then the outcome.
    A step that fails is rolled back and the failure is recorded in a unit of its own;
    a recording not there yet is recorded as waiting, then RQ runs the job again later.
    """
    try:
        with unit_of_work():
            run = pipeline.start(voice_message_id)
        if isinstance(run, str):
            return run
        try:
            with unit_of_work():
                audio = pipeline.fetch_audio(run)
            if audio is not None:
                with unit_of_work():
                    run.outcome = pipeline.transcribe(run, audio)
        except Exception as error:  # a bug or a crash in Vosk: say so on the request, let RQ record it
            with unit_of_work():
                pipeline.fail(run, error)
            raise
        if run.retry is not None:
            raise run.retry  # recorded as waiting; RQ retries the job with its own backoff
        return run.outcome or ""
    finally:
        db.session.remove()
