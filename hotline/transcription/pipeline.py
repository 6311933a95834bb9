"""A voice message's way from Twilio's media host to text on the request.

`queue_transcription` runs inside the webhook's unit of work (a row and an
outbox job, once per RecordingSid); `start`, `fetch_audio` and `transcribe` are
the job's steps (download, decode, resample, Vosk, and a clear line on the
request's timeline whatever happens), each committed by the job as a unit of
its own (workers.asr says why). The audio is kept in the data folder for staff
to play, even when no text comes out of it.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import cast

from flask import current_app
from sqlalchemy import CursorResult, or_, select, update

from .. import jobs, outbox, speech_models, tickets
from ..extensions import db
from ..models import EventKind, Transcription, TranscriptionStatus, VoiceMessage, utcnow
from .download import DownloadFailed, DownloadRefused, NotYetAvailable, fetch, media_url

log = logging.getLogger(__name__)

#: A job "running" for longer than this has died (worker killed): another may take it over.
STALE_AFTER = timedelta(minutes=15)

Status = TranscriptionStatus


def job_id(message: VoiceMessage, run: int) -> str:
    return f"asr-{message.recording_sid}-{run}"


def queue_transcription(message: VoiceMessage) -> Transcription | None:
    """Create the message's transcription row and its job, once; in the caller's transaction.

    Waits for the recording URL (the Record action and the status callback both
    carry it; whichever comes first queues the job).
    """
    if not message.recording_url:
        return None
    if message.id is not None:
        existing = db.session.scalar(
            select(Transcription).where(Transcription.voice_message_id == message.id)
        )
        if existing is not None:
            return existing
    row = Transcription(
        voice_message=message, ticket=message.ticket, language=message.language,
        status=Status.QUEUED, runs=1,
    )
    db.session.add(row)
    db.session.flush()
    outbox.add_job(job_id(message, 1), jobs.transcribe_voice_message, message.id,
                   queue=current_app.config["ASR_QUEUE"])
    return row


def requeue_pending() -> list[Transcription]:
    """Queue every unfinished transcription again (after installing a model, or an outage),
    including one whose worker died mid-job long ago."""
    stale = utcnow() - STALE_AFTER
    rows = list(db.session.scalars(
        select(Transcription)
        .where(or_(Transcription.status.in_(Status.pending_values()),
                   (Transcription.status == Status.RUNNING) & (Transcription.started_at < stale)))
        .order_by(Transcription.id)
    ))
    for row in rows:
        row.runs += 1
        row.status = Status.QUEUED
        outbox.add_job(job_id(row.voice_message, row.runs), jobs.transcribe_voice_message,
                       row.voice_message_id, queue=current_app.config["ASR_QUEUE"])
    return rows


@dataclass
class Run:
    """One run of the job over one row, across the job's units of work (workers.asr)."""

    row: Transcription
    previous: str  # the status before this run: a retry that fails alike stays quiet
    outcome: str | None = None  # what happened, in a few words, once the run has ended
    retry: NotYetAvailable | None = None  # the recording is not there yet: RQ runs the job again


def _current_job_id() -> str | None:
    from rq import get_current_job

    job = get_current_job()
    return job.id if job is not None else None


def _claim(row: Transcription) -> bool:
    """Mark the row running unless it is done or another live job has it (a job may run twice).

    RQ retrying the very job that had it (its work horse was killed: timeout, OOM)
    takes over at once; a different job waits until the claim is stale.
    """
    now = utcnow()
    job = _current_job_id()
    free = [Transcription.status != Status.RUNNING, Transcription.started_at < now - STALE_AFTER]
    if job is not None:
        free.append(Transcription.job_id == job)
    result = db.session.execute(
        update(Transcription)
        .where(Transcription.id == row.id, Transcription.status != Status.DONE, or_(*free))
        .values(status=Status.RUNNING, started_at=now, job_id=job)
        .execution_options(synchronize_session=False)
    )
    claimed = cast(CursorResult, result).rowcount  # an UPDATE's result: a cursor's
    db.session.refresh(row)
    return claimed == 1


def _finish(row: Transcription, status: Status, message: str, previous: str, **data) -> None:
    """Record the outcome, with a timeline line when it is news (a retry that fails alike stays quiet)."""
    row.status = status
    row.error = None if status == Status.DONE else message
    row.finished_at = utcnow()
    if status == Status.DONE or status != previous:
        tickets.add_event(row.ticket, EventKind(f"transcription_{status}"), message,
                          data={"recording_sid": row.voice_message.recording_sid, **data})


def start(voice_message_id: int) -> Run | str:
    """The job's first unit: take the row (running), or say why there is nothing to do."""
    row = db.session.scalar(
        select(Transcription).where(Transcription.voice_message_id == voice_message_id)
    )
    if row is None:
        return "no transcription queued for this voice message"
    if row.status == Status.DONE:
        return "already transcribed"
    previous = row.status
    if not _claim(row):
        return "already transcribed" if row.status == Status.DONE else "already being transcribed"
    return Run(row, previous)


def fetch_audio(run: Run) -> Path | None:
    """The job's second unit: the recording on disk and its path on the row, or None when the
    run ends here (`run.outcome` says why; `run.retry` when RQ should try again later)."""
    data_dir = Path(current_app.config["DATA_DIR"])
    try:
        return _ensure_audio(run.row, run.row.voice_message, data_dir)
    except (DownloadRefused, DownloadFailed) as error:
        _finish(run.row, Status.FAILED, f"recording not downloaded: {error}", run.previous,
                step="download", detail=str(error))
        run.outcome = str(error)
    except NotYetAvailable as error:
        _finish(run.row, Status.WAITING_FOR_AUDIO, f"recording not available yet, will retry: {error}",
                run.previous, detail=str(error))
        run.outcome, run.retry = str(error), error
    return None


def fail(run: Run, error: Exception) -> None:
    """After a bug or a crash in Vosk (that unit rolled back): say so on the request."""
    detail = f"{error.__class__.__name__}: {error}"
    _finish(run.row, Status.FAILED, f"transcription failed: {detail}", run.previous,
            step="transcribe", detail=detail)


def transcribe(run: Run, audio_path: Path) -> str:
    """The job's last unit: decode, resample, Vosk, and the outcome on the row and the request."""
    # numpy, soxr and Vosk load in the worker only, never in web processes.
    from .audio import UnreadableAudio, decode
    from .recognise import recognise

    config = current_app.config
    row = run.row
    message = row.voice_message
    data_dir = Path(config["DATA_DIR"])

    language = row.language or message.language or row.ticket.language \
        or current_app.extensions["hotline.flow"].default_language
    model_info = speech_models.model_for(data_dir, language)
    if model_info is None:
        name = speech_models.language_name(language, current_app.extensions["hotline.flow"].languages)
        text = f"no speech model for {name} installed; the recording can be played"
        _finish(row, Status.NO_MODEL, text, run.previous, language=language)
        return text

    try:
        audio = decode(audio_path)
    except UnreadableAudio as error:
        _finish(row, Status.UNREADABLE, f"voice message not transcribed: {error}", run.previous,
                detail=str(error))
        return str(error)

    if not speech_models.is_loaded(model_info.path):
        log.warning("speech model for %s was not preloaded: restart the %s worker to share it",
                    language, config["ASR_QUEUE"])
    model = speech_models.load_model(model_info.path)
    started = time.perf_counter()
    rate = model_info.sample_rate
    result = recognise(model, audio.pcm16(rate), rate)
    elapsed = time.perf_counter() - started

    confidence = result.confidence
    low = confidence is None or confidence < float(config["ASR_LOW_CONFIDENCE"])
    row.text = result.text
    row.words = result.words
    row.confidence = confidence
    row.low_confidence = low
    row.audio_seconds = round(audio.seconds, 3)
    row.model_name = model_info.name
    row.processing_seconds = round(elapsed, 3)
    row.language = language
    _update_ticket_transcript(row)
    if not result.text:
        summary = "voice message transcribed: no words recognised; listen to the recording"
    elif low:
        summary = f"voice message transcribed with low confidence ({confidence:.2f}): listen to the recording"
    else:
        summary = f"voice message transcribed (confidence {confidence:.2f})"
    _finish(row, Status.DONE, summary, run.previous, confidence=confidence, low_confidence=low,
            empty=not result.text, model=model_info.name, seconds=row.audio_seconds)
    return summary


def kept_recording(recording_sid: str, suffix: str = ".wav") -> Path:
    """Where, under the data folder, the worker keeps a voice message's recording (downloaded,
    or delivered there by `hotline call` and the practice phone)."""
    return Path("recordings") / f"{re.sub(r'[^A-Za-z0-9_-]', '_', recording_sid)}{suffix}"


def _ensure_audio(row: Transcription, message: VoiceMessage, data_dir: Path) -> Path:
    """The recording on disk, downloaded once (a re-run reuses the kept file)."""
    config = current_app.config
    if row.audio_path and (data_dir / row.audio_path).is_file():
        return data_dir / row.audio_path
    url = media_url(message.recording_url or "", config["TWILIO_API_BASE"])
    suffix = ".mp3" if url.endswith(".mp3") else ".wav"
    relative = kept_recording(message.recording_sid, suffix)
    if (data_dir / relative).is_file():  # delivered there already (`hotline call`: a WAV at the beep)
        row.audio_path = str(relative)
        return data_dir / relative
    sid, token = config.get("TWILIO_ACCOUNT_SID"), config.get("TWILIO_AUTH_TOKEN")
    fetch(url, data_dir / relative, auth=(sid, token) if sid and token else None,
          delays=[float(d) for d in config["ASR_DOWNLOAD_DELAYS"]])
    row.audio_path = str(relative)
    return data_dir / relative


def _update_ticket_transcript(row: Transcription) -> None:
    """`tickets.transcript` holds the text of every transcribed message of the request, in order."""
    others = db.session.scalars(
        select(Transcription.text)
        .where(Transcription.ticket_id == row.ticket_id, Transcription.status == Status.DONE,
               Transcription.id != row.id)
        .order_by(Transcription.id)
    )
    texts = [t for t in [*others, row.text] if t]
    row.ticket.transcript = "\n".join(texts) if texts else None
