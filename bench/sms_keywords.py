"""Keyword matching throughput, in-process, against the text-folding floor and a baseline.

    .venv/bin/python bench/sms_keywords.py [--seconds 3] [--baseline main]

Runs the test corpus (tests/data/sms_corpus.yaml) and the held-out set
(tests/data/sms_heldout.yaml) through `Keywords.match` and, in the same process on the
same texts:

- `tokens()` alone (the folding every match starts with): the floor;
- with `--baseline REF`, the matcher and keyword data of that git revision (`git show
  REF:hotline/sms/keywords.py`), so a change is measured against what it replaces. The
  two are timed in alternating short rounds (a busy machine slows both alike) and the
  median of the per-round ratios `baseline / now` is printed: it must stay within 2
  (docs/benchmarks.md).

Also prints the share of each set the matcher gets right (intent and every field given).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SETS = {"corpus": ROOT / "tests/data/sms_corpus.yaml", "held-out": ROOT / "tests/data/sms_heldout.yaml"}


def rate(fn, texts: list[str], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for text in texts:
            fn(text)
        done += len(texts)
    return done / elapsed


def share(kw: Any, cases: list[dict[str, Any]]) -> float:
    right = 0
    for case in cases:
        match = kw.match(case["text"])
        got = {"intent": match.intent.value, "code": match.code, "phone": match.phone,
               "language": match.language, "topic": match.topic}
        right += all(got.get(k) == v for k, v in case.items() if k != "text")
    return right / len(cases)


def baseline(ref: str) -> Any:
    """The Keywords of revision `ref`, built from its own module and data."""
    from hotline.data_files import parse_yaml

    def show(path: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:{path}"],
                              check=True, capture_output=True, text=True).stdout

    spec = importlib.util.spec_from_loader("hotline.sms._baseline_keywords", loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "hotline.sms"
    sys.modules[spec.name] = module
    exec(compile(show("hotline/sms/keywords.py"), f"{ref}:hotline/sms/keywords.py", "exec"), module.__dict__)
    return module.Keywords.from_data(parse_yaml(show("ivr_flows/sms/keywords.yaml")), ref)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from hotline.sms.keywords import Keywords, tokens

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--baseline", metavar="REF", help="a git revision to measure against, e.g. main")
    parser.add_argument("--rounds", type=int, default=9, help="alternating rounds against the baseline")
    args = parser.parse_args()
    kw = Keywords.load(ROOT / "ivr_flows" / "sms" / "keywords.yaml")
    sets = {name: yaml.safe_load(path.read_text("utf-8")) for name, path in SETS.items() if path.exists()}
    texts = [c["text"] for cases in sets.values() for c in cases]
    long_texts = [(t + " ") * (2000 // (len(t) + 1) + 1) for t in texts[:20]]

    floor = rate(tokens, texts, args.seconds)
    match = rate(kw.match, texts, args.seconds)
    long_match = rate(kw.match, long_texts, args.seconds)
    print(f"messages: {len(texts)} ({', '.join(f'{n} {len(c)}' for n, c in sets.items())})")
    print(f"fold only (floor):        {floor:>10,.0f} msg/s")
    print(f"Keywords.match:           {match:>10,.0f} msg/s  ({match / floor:.2f} x the floor)")
    print(f"Keywords.match, 2000 ch.: {long_match:>10,.0f} msg/s")
    for name, cases in sets.items():
        print(f"share right, {name + ':':<10}    {share(kw, cases):>10.1%}")
    if args.baseline:
        old = baseline(args.baseline)
        for label, batch in (("corpus", texts), ("2000 ch.", long_texts)):
            ratios, olds = [], []
            for _ in range(args.rounds):
                now = rate(kw.match, batch, args.seconds / args.rounds)
                before = rate(old.match, batch, args.seconds / args.rounds)
                ratios.append(before / now)
                olds.append(before)
            slowdown = statistics.median(ratios)
            before = statistics.median(olds)
            print(f"{args.baseline} Keywords.match, {label + ':':<9} {before:>10,.0f} msg/s  "
                  f"(slowdown, median of {args.rounds} alternating rounds: {slowdown:.2f} x)")
        for name, cases in sets.items():
            print(f"{args.baseline} share right, {name + ':':<10}{share(old, cases):>8.1%}")


if __name__ == "__main__":
    main()
