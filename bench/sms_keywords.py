"""Keyword matching throughput, in-process, against the text-folding floor.

    .venv/bin/python bench/sms_keywords.py [--seconds 3]

Runs the test corpus (tests/data/sms_corpus.yaml) through `Keywords.match` and,
as the baseline in the same process, through `tokens()` alone (the folding
every match starts with). Prints messages per second for both and the ratio.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def rate(fn, texts: list[str], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for text in texts:
            fn(text)
        done += len(texts)
    return done / elapsed


def main() -> None:
    import sys

    sys.path.insert(0, str(ROOT))
    from hotline.sms.keywords import Keywords, tokens

    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    kw = Keywords.load(ROOT / "ivr_flows" / "sms" / "keywords.yaml")
    texts = [c["text"] for c in yaml.safe_load((ROOT / "tests/data/sms_corpus.yaml").read_text("utf-8"))]
    long_texts = [(t + " ") * (2000 // (len(t) + 1) + 1) for t in texts[:20]]

    floor = rate(tokens, texts, args.seconds)
    match = rate(kw.match, texts, args.seconds)
    long_match = rate(kw.match, long_texts, args.seconds)
    print(f"corpus: {len(texts)} messages")
    print(f"fold only (floor):        {floor:>10,.0f} msg/s")
    print(f"Keywords.match:           {match:>10,.0f} msg/s  ({match / floor:.2f} x the floor)")
    print(f"Keywords.match, 2000 ch.: {long_match:>10,.0f} msg/s")


if __name__ == "__main__":
    main()
