"""Prompts: a recording when there is one, else text-to-speech, else the Vietnamese text.

Recordings live in `audio/<language>/<prompt>.wav` (8 kHz mono, what a telephone
carries) and are served by the app with caching headers; texts live in
`ivr_flows/prompts/<language>.yaml`. A language with no voice and no recording
(M'Nông has no text-to-speech voice) falls back to the Vietnamese text, and the
gap is logged and shown by `hotline prompts status`.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Telephony audio: 8 kHz mono, 16-bit PCM WAV plays everywhere Twilio does.
TELEPHONY_RATE = 8000
AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg", ".m4a")
#: How long a listing of the audio folder is trusted before looking again.
LISTING_SECONDS = 30.0


class PromptSource(StrEnum):
    RECORDED = "recorded"
    TTS = "tts"
    MISSING = "missing"  # no recording, no voice: the Vietnamese text is spoken instead


@dataclass(frozen=True)
class Rendered:
    kind: str  # "play" or "say"
    value: str  # URL to play or text to say
    attributes: tuple[tuple[str, str], ...] = ()


class PromptLibrary:
    """Decides how each (language, prompt) is heard; cached, since every webhook asks.

    Recordings are looked up in the data folder first (`recordings_dir`: what staff
    recorded by phone or in the browser, which survives upgrades), then in the shipped
    `audio/` folder (the fallback). A recording's URL carries its version (the file's
    modification time in nanoseconds), so a provider that caches by URL fetches a new
    recording at once and never plays a stale one.
    """

    def __init__(self, flow: Any, audio_dir: Path | str, recordings_dir: Path | str | None = None):
        self.flow = flow
        self.audio_dir = Path(audio_dir)
        self.recordings_dir = Path(recordings_dir) if recordings_dir else None
        self._listing: dict[tuple[str, str], tuple[int, Path]] = {}
        self._listed_at = -LISTING_SECONDS
        self._lock = threading.Lock()
        self._gaps_reported: set[tuple[str, str]] = set()

    @property
    def folders(self) -> tuple[Path, ...]:
        """Where recordings are looked up, first match wins: the data folder, then audio/."""
        return tuple(folder for folder in (self.recordings_dir, self.audio_dir) if folder is not None)

    def _recordings(self) -> dict[tuple[str, str], tuple[int, Path]]:
        now = time.monotonic()
        if now - self._listed_at >= LISTING_SECONDS:
            with self._lock:
                listing: dict[tuple[str, str], tuple[int, Path]] = {}
                for folder in reversed(self.folders):  # the data folder overrides audio/
                    for path in folder.glob("*/*.wav"):
                        if path.stem.endswith(".partial"):
                            continue
                        listing[(path.parent.name, path.stem)] = (path.stat().st_mtime_ns, path)
                self._listing, self._listed_at = listing, now
        return self._listing

    def refresh(self) -> None:
        self._listed_at = -LISTING_SECONDS

    def recording_version(self, language: str, key: str) -> int | None:
        found = self._recordings().get((language, key))
        return found[0] if found else None

    def recording_path(self, language: str, key: str) -> Path | None:
        """The file callers hear for (language, prompt), if recorded (data folder first)."""
        found = self._recordings().get((language, key))
        return found[1] if found else None

    def keys(self) -> list[str]:
        """Every prompt of the flow, in the order of the default language's file."""
        return list(self.flow.prompts.get(self.flow.default_language, {}))

    def store(self, language: str, key: str, source: Path) -> int:
        """Convert `source` (any rate, WAV/MP3/OGG/FLAC) to 8 kHz mono and make it the prompt
        callers hear, in the data folder; returns its version."""
        if self.recordings_dir is None:
            raise RuntimeError("no data folder for recordings")
        if language not in self.flow.languages or key not in self.keys():
            raise ValueError(f"no prompt {key!r} in language {language!r}")
        target = self.recordings_dir / language / f"{key}.wav"
        convert_to_telephony(source, target)
        self.refresh()
        return target.stat().st_mtime_ns

    def source(self, language: str, key: str) -> PromptSource:
        if self.recording_version(language, key) is not None:
            return PromptSource.RECORDED
        if self.flow.say_attributes(language):
            return PromptSource.TTS
        return PromptSource.MISSING

    def render(self, language: str, key: str, base_url: str) -> Rendered:
        version = self.recording_version(language, key)
        if version is not None:
            return Rendered("play", f"{base_url.rstrip('/')}/audio/{language}/{key}.wav?v={version}")
        attributes = self.flow.say_attributes(language)
        if attributes:
            text, _ = self.flow.prompt_text(key, language)
            return Rendered("say", text, tuple(attributes.items()))
        fallback = self.flow.default_language
        if (language, key) not in self._gaps_reported:
            self._gaps_reported.add((language, key))
            log.warning("prompt %r has no %s recording and %s has no voice: speaking %s",
                        key, language, language, fallback)
        if self.recording_version(fallback, key) is not None:
            return self.render(fallback, key, base_url)
        text, _ = self.flow.prompt_text(key, fallback)
        return Rendered("say", text, tuple(self.flow.say_attributes(fallback).items()))

    def status(self) -> dict[str, dict[str, PromptSource]]:
        keys = sorted(self.keys())
        return {
            language: {key: self.source(language, key) for key in keys}
            for language in self.flow.languages
        }


def _decode(source: Path) -> tuple[Any, int]:
    """(mono float32 samples, rate): libsndfile for WAV/MP3/FLAC/OGG, else FFmpeg through
    PyAV (M4A/AAC from a phone, WebM/Opus from a browser's MediaRecorder)."""
    import numpy as np
    import soundfile

    try:
        data, rate = soundfile.read(str(source), dtype="float32", always_2d=True)
        return data.mean(axis=1), int(rate)
    except soundfile.LibsndfileError:
        pass
    import av

    chunks = []
    rate = 0
    with av.open(str(source)) as container:
        if not container.streams.audio:
            raise ValueError(f"{source.name}: no audio in this file")
        resampler = av.AudioResampler(format="flt", layout="mono")
        for frame in container.decode(audio=0):
            rate = frame.sample_rate
            for converted in resampler.resample(frame):
                chunks.append(converted.to_ndarray().reshape(-1))
        for converted in resampler.resample(None):
            chunks.append(converted.to_ndarray().reshape(-1))
    if not chunks or not rate:
        raise ValueError(f"{source.name}: no sound in this file")
    return np.concatenate(chunks).astype("float32"), rate


def convert_to_telephony(source: Path, target: Path) -> float:
    """Any WAV/MP3/FLAC/OGG/M4A/WebM at any rate → 8 kHz mono 16-bit WAV (libsndfile or FFmpeg
    read, soxr resamples); returns its length in seconds."""
    import numpy as np
    import soundfile
    import soxr

    mono, rate = _decode(source)
    if rate != TELEPHONY_RATE:
        mono = soxr.resample(mono, rate, TELEPHONY_RATE, quality="HQ")
    peak = float(np.max(np.abs(mono))) if mono.size else 0.0
    if peak > 1.0:
        mono = mono / peak
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial.wav")
    soundfile.write(str(partial), mono, TELEPHONY_RATE, subtype="PCM_16", format="WAV")
    partial.replace(target)  # a half-written file is never played
    return len(mono) / TELEPHONY_RATE


def import_recordings(
    directory: Path, audio_dir: Path, known: dict[str, set[str]], language: str | None
) -> tuple[list[Path], list[str]]:
    """Convert staff recordings named `<prompt>.<ext>` (in DIR, or DIR/<language>/) into audio/.

    Returns (written files, problems). Unknown prompt names and unreadable files are
    reported, never silently skipped.
    """
    jobs: list[tuple[str, Path]] = []
    subdirs = [path for path in sorted(directory.iterdir()) if path.is_dir() and path.name in known]
    if subdirs:
        for subdir in subdirs:
            jobs.extend((subdir.name, path) for path in sorted(subdir.iterdir()))
    elif language:
        jobs.extend((language, path) for path in sorted(directory.iterdir()))
    else:
        return [], [f"{directory}: no <language>/ folders inside; name one with --lang"]
    written, problems = [], []
    for lang, path in jobs:
        if path.suffix.lower() not in AUDIO_SUFFIXES or not path.is_file():
            continue
        if lang not in known:
            problems.append(f"{path}: unknown language {lang!r}")
        elif path.stem not in known[lang]:
            problems.append(f"{path}: no prompt named {path.stem!r}")
        else:
            target = audio_dir / lang / f"{path.stem}.wav"
            try:
                convert_to_telephony(path, target)
            except Exception as error:  # a bad file is reported; the others still import
                problems.append(f"{path}: cannot convert: {error}")
                continue
            written.append(target)
    return written, problems


def espeak_voice(language: str) -> str:
    return {"vi": "vi"}.get(language, language)


def synthesise(texts: dict[str, str], language: str, audio_dir: Path, *, overwrite: bool) -> list[Path]:
    """Placeholder recordings made with espeak-ng (for testing a flow before staff record)."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for key, text in sorted(texts.items()):
            target = audio_dir / language / f"{key}.wav"
            if target.exists() and not overwrite:
                continue
            raw = Path(tmp) / f"{key}.wav"
            spoken = text.replace("{", "").replace("}", "")
            subprocess.run(
                [espeak, "-v", espeak_voice(language), "-s", "140", "-w", str(raw), spoken],
                check=True, capture_output=True, timeout=60,
            )
            convert_to_telephony(raw, target)
            written.append(target)
    return written
