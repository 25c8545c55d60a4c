"""Mapping speed: characters per second of `map_document` on the real corpus (when present) and on a synthetic
100,000-character framework. Target: a 100,000-character framework maps in under a second.

Run from the project root: `python benchmarks/bench_mapping.py [--framework seoul-2024] [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.analysis.mapping import map_document

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
WORD_LIST = """model capability threshold evaluation safeguards deployment security weights risk we will must may
board review publish external experts pause training governance mitigation misuse cyber biological
the of and to in for our with that is are be on by as this report system"""
WORDS = WORD_LIST.split()


def synthetic_document(chars: int, seed: int = 7) -> str:
    """Headings, page marks and hard-wrapped paragraphs in the canonical text format, about `chars` long."""
    rng = random.Random(seed)
    parts: list[str] = []
    size, page = 0, 1
    while size < chars:
        if rng.random() < 0.1:
            block = f"[[page {page}]]\n\n## Section {page}\n"
            page += 1
        else:
            words = [rng.choice(WORDS) for _ in range(rng.randint(20, 120))]
            lines = [" ".join(words[i : i + 14]) for i in range(0, len(words), 14)]
            block = ". ".join(line.capitalize() for line in lines).replace(". ", ".\n", 3) + ".\n"
        parts.append(block)
        size += len(block) + 1
    return "\n".join(parts)[:chars]


def measure(text: str, framework: str, repeat: int) -> float:
    map_document(text[:2000], framework)  # warm the rubric cache, as a running tracker would have
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        map_document(text, framework)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--framework", default="seoul-2024")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows: list[tuple[str, int, float]] = []
    if CORPUS.is_dir():
        for path in sorted(CORPUS.glob("*.txt")):
            text = path.read_text(encoding="utf-8")
            rows.append((path.name, len(text), measure(text, args.framework, args.repeat)))
    else:
        print(f"(corpus not found at {CORPUS}: real texts skipped)")
    synthetic = synthetic_document(100_000)
    rows.append(("synthetic 100k", len(synthetic), measure(synthetic, args.framework, args.repeat)))
    print(f"{'document':<66}{'chars':>9}{'seconds':>9}{'chars/s':>11}")
    for name, chars, seconds in rows:
        print(f"{name:<66}{chars:>9}{seconds:>9.3f}{chars / seconds:>11,.0f}")
    total_chars, total_seconds = sum(r[1] for r in rows), sum(r[2] for r in rows)
    print(f"{'total':<66}{total_chars:>9}{total_seconds:>9.3f}{total_chars / total_seconds:>11,.0f}")
    verdict = "meets" if rows[-1][2] < 1.0 else "MISSES"
    print(f"synthetic 100k-char framework: {rows[-1][2]:.3f} s ({verdict} the 1 s target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
