"""Run Vosk over PCM audio and keep what staff need to judge the result: words, times, confidence."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

#: Audio fed to Vosk per call: small enough to collect each utterance's result as it ends.
CHUNK_SECONDS = 0.5


@dataclass
class Recognised:
    text: str
    words: list[dict] = field(default_factory=list)

    @property
    def confidence(self) -> float | None:
        """Mean word confidence, weighted by word duration (a long word counts more than a blip)."""
        if not self.words:
            return None
        weights = [max(w["end"] - w["start"], 0.01) for w in self.words]
        return sum(w["conf"] * k for w, k in zip(self.words, weights, strict=True)) / sum(weights)


def recognise(model, pcm16: bytes, rate: int) -> Recognised:
    """Vosk over mono 16-bit PCM at `rate` (the model's rate), with word timings and confidences."""
    from vosk import KaldiRecognizer

    recogniser = KaldiRecognizer(model, rate)
    recogniser.SetWords(True)
    chunk = int(rate * CHUNK_SECONDS) * 2
    results = []
    for start in range(0, len(pcm16), chunk):
        if recogniser.AcceptWaveform(pcm16[start:start + chunk]):
            results.append(json.loads(recogniser.Result()))
    results.append(json.loads(recogniser.FinalResult()))
    words: list[dict] = []
    texts: list[str] = []
    for result in results:
        if result.get("text"):
            texts.append(result["text"])
        for w in result.get("result", []):
            words.append({"word": w["word"], "start": round(w["start"], 3), "end": round(w["end"], 3),
                          "conf": round(w["conf"], 4)})
    return Recognised(" ".join(texts).strip(), words)
