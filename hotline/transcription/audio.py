"""Audio in, 16-bit mono PCM at the model's rate out.

WAV is read with the standard library; other formats (MP3…) need a decoder:
the `soundfile` package or an `ffmpeg` program, used when installed. Resampling
uses soxr (a real band-limited resampler: telephony audio is 8 kHz, small
Vosk models expect 16 kHz).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

#: Shorter than this is "empty": a hang-up right after the beep.
MIN_SECONDS = 0.2


class UnreadableAudio(Exception):
    """Corrupt, empty or in a format no installed decoder reads; the message says which."""


@dataclass
class Audio:
    samples: np.ndarray  # float32, mono, -1..1
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0

    def pcm16(self, rate: int) -> bytes:
        """Mono 16-bit little-endian PCM at `rate`, as Vosk takes it."""
        samples = self.samples
        if rate != self.rate:
            samples = soxr.resample(samples, self.rate, rate, quality="HQ")
        return (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


def decode(path: Path) -> Audio:
    with path.open("rb") as f:
        head = f.read(12)
    if not head:
        raise UnreadableAudio("the recording is empty (0 bytes)")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        audio = _decode_wav(path)
    else:
        audio = _decode_other(path)
    if audio.seconds < MIN_SECONDS:
        raise UnreadableAudio(f"the recording is empty ({audio.seconds:.2f} s of audio)")
    return audio


def _decode_wav(path: Path) -> Audio:
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError, RuntimeError, ValueError, struct.error) as error:
        # `wave` raises RuntimeError/struct.error on truncated chunks, not only wave.Error.
        if _soundfile() is not None:  # e.g. μ-law or float WAV, which `wave` does not read
            return _decode_soundfile(path)
        raise UnreadableAudio(
            f"corrupt or unsupported WAV file ({error.__class__.__name__}: {error})"
        ) from error
    if rate <= 0 or channels <= 0:
        raise UnreadableAudio("corrupt WAV file: no sample rate or channels")
    frames = frames[: len(frames) - len(frames) % (width * channels)]
    if width == 1:
        data = (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128) / 128
    elif width == 2:
        data = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768
    elif width == 3:
        raw = np.frombuffer(frames, dtype=np.uint8).reshape(-1, 3)
        ints = (raw[:, 0].astype(np.int32) | raw[:, 1].astype(np.int32) << 8
                | raw[:, 2].astype(np.int32) << 16)
        ints = np.where(ints & 0x800000, ints - (1 << 24), ints)
        data = ints.astype(np.float32) / (1 << 23)
    elif width == 4:
        data = np.frombuffer(frames, dtype="<i4").astype(np.float32) / (1 << 31)
    else:
        raise UnreadableAudio(f"unsupported WAV sample width: {width} bytes")
    return Audio(_mono(data, channels), rate)


def _mono(data: np.ndarray, channels: int) -> np.ndarray:
    if channels == 1:
        return np.ascontiguousarray(data, dtype=np.float32)
    return data.reshape(-1, channels).mean(axis=1).astype(np.float32)


def _soundfile():
    try:
        import soundfile
    except (ImportError, OSError):
        return None
    return soundfile


def _decode_soundfile(path: Path) -> Audio:
    soundfile = _soundfile()
    try:
        data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except Exception as error:  # soundfile raises its own LibsndfileError and RuntimeError
        raise UnreadableAudio(f"corrupt or unsupported audio: {error}") from error
    return Audio(_mono(data.reshape(-1), data.shape[1]), int(rate))


def _decode_other(path: Path) -> Audio:
    """MP3 and friends: whichever decoder this machine has."""
    if _soundfile() is not None:
        return _decode_soundfile(path)
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise UnreadableAudio(
            "not a WAV file, and no decoder for other formats is installed (soundfile or ffmpeg)"
        )
    rate = 16000
    result = subprocess.run(
        [ffmpeg, "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(rate), "-"],
        capture_output=True, timeout=120,
    )
    if result.returncode != 0:
        raise UnreadableAudio(f"corrupt or unsupported audio: {result.stderr.decode()[-200:].strip()}")
    return Audio(np.frombuffer(result.stdout, dtype="<i2").astype(np.float32) / 32768, rate)
