"""Rebuild the trained artefacts (`python -m tracker.analysis.build [EVAL_DIR]`).

Both are fitted on the coders' development set (`../shared/eval/`, Frontier Safety Framework Corpus coding
study, L. Y. Zhu 2026, CC BY 4.0) plus any passages we label ourselves (`data/models/labelled-passages.jsonl`,
same row shape, when present), and written as small JSON files under `data/models/`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tracker.analysis import classifier, direction
from tracker.core.errors import TrackerError

# The shared folder beside the checkout; TRACKER_EVAL_DIR points elsewhere (a worktree, CI).
DEFAULT_EVAL_DIR = Path(os.environ.get("TRACKER_EVAL_DIR") or Path(__file__).resolve().parents[3] / "shared" / "eval")
OWN_LABELS = classifier.MODELS_DIR / "labelled-passages.jsonl"


def build(eval_dir: Path = DEFAULT_EVAL_DIR) -> dict:
    """Retrain the passage classifier and the change-direction model; returns what was written."""
    passages = [eval_dir / "passages.jsonl"] + ([OWN_LABELS] if OWN_LABELS.is_file() else [])
    return {"passage_classifier": classifier.build_artefact(passages),
            "change_direction": direction.build_model([eval_dir / "pairs.jsonl"])}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        result = build(Path(args[0]) if args else DEFAULT_EVAL_DIR)
    except TrackerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
