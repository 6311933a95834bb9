"""Fetch a recording's audio from Twilio, and only from Twilio.

The RecordingUrl arrives in a webhook; a forged or mistaken URL must never make
the worker fetch (and send the account's credentials to) another host, so only
URLs on the configured `TWILIO_API_BASE` are downloaded. Twilio answers 404 for a
few seconds after the callback while the media is being stored: 404 and 5xx are
retried with growing pauses (`ASR_DOWNLOAD_DELAYS`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import requests

#: Answers that mean "not yet": Twilio is still storing the media, or is having a bad moment.
RETRYABLE_STATUSES = {404, 408, 429, 500, 502, 503, 504}
TIMEOUT_SECONDS = 30
#: Far above the longest message (a 10-minute WAV at 8 kHz is ~10 MB): refuse anything bigger.
MAX_BYTES = 50 * 1024 * 1024


class DownloadRefused(Exception):
    """The URL is not on the Twilio API host: never fetched, never retried."""


class DownloadFailed(Exception):
    """Twilio answered with a permanent error (401, 403, …): retrying will not help."""


class NotYetAvailable(Exception):
    """Still 404/5xx (or unreachable) after every retry: try again later."""


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def media_url(recording_url: str, api_base: str, extension: str = ".wav") -> str:
    """The URL of the WAV media for a RecordingUrl, refused unless it is on `api_base`."""
    if _origin(recording_url) != _origin(api_base):
        raise DownloadRefused(
            f"refused to download {urlsplit(recording_url).netloc or recording_url}: "
            f"recordings are fetched only from {urlsplit(api_base).netloc}"
        )
    path = urlsplit(recording_url).path
    if path.endswith((".wav", ".mp3")):
        return recording_url
    # Twilio serves the same recording as WAV (default) or MP3 by extension.
    return recording_url.split("?", 1)[0] + extension


def fetch(
    url: str,
    destination: Path,
    *,
    auth: tuple[str, str] | None,
    delays: Sequence[float],
    sleep=time.sleep,
) -> int:
    """Download `url` to `destination` (atomically); return the number of bytes."""
    attempts = len(delays) + 1
    last_problem = ""
    for attempt in range(attempts):
        if attempt:
            sleep(delays[attempt - 1])
        try:
            with requests.get(url, auth=auth, timeout=TIMEOUT_SECONDS, stream=True) as response:
                if response.status_code in RETRYABLE_STATUSES:
                    last_problem = f"HTTP {response.status_code}"
                    continue
                if response.status_code != 200:
                    raise DownloadFailed(f"Twilio answered HTTP {response.status_code} for {url}")
                return _save(response, destination)
        except requests.RequestException as error:
            last_problem = f"{error.__class__.__name__}: {error}"
            continue
    raise NotYetAvailable(f"recording not available after {attempts} tries ({last_problem})")


def _save(response: requests.Response, destination: Path) -> int:
    """Write the body next to `destination`, then rename: a crash never leaves half a recording."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(f".{destination.name}.{os.getpid()}")
    size = 0
    try:
        with tmp.open("wb") as out:
            for chunk in response.iter_content(1 << 16):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise DownloadFailed(f"recording larger than {MAX_BYTES // (1024 * 1024)} MB: refused")
                out.write(chunk)
        tmp.replace(destination)
    finally:
        tmp.unlink(missing_ok=True)
    return size
