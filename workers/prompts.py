"""Prompt recordings: a take kept in the recording booth or approved in the browser is
fetched, converted to 8 kHz mono and put live (hotline.prompt_recordings)."""

from __future__ import annotations

from hotline import jobs, prompt_recordings
from hotline.unit_of_work import in_unit_of_work


@jobs.store_prompt_recording.implementation
@in_unit_of_work(release_session=True)
def store_prompt_recording(recording_id: int) -> str:
    return prompt_recordings.store(recording_id)
