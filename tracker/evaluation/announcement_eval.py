"""Score the announced / partly / silent / no-changelog judgement against the development pairs' labels.

Each labelled pair (`../shared/eval/pairs.jsonl`) names its provider and version pair; the catalog
(`data/sources/`, `corpus_version` and `revision_account` of each known version) says which corpus texts and
which revision account (`changelogs/`) belong to it, so a pair is judged exactly as the pipeline judges a change:
against what the company said about the new version that it had not said about the old one. Only material
pairs are scored (the coders' `NA` means "not a material change").

The rule has four numbers (`tracker.analysis.announcement.PARAMS`). They were chosen on these pairs, so the
scores reported are leave-one-provider-out: for each provider, the numbers that do best on the other providers
are applied to it. The silent-revision rate (strict: partly counts as not announced) is reported beside the
coders' rate on the same pairs, the corpus study's measure (about two thirds of material changes).
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tracker.analysis.announcement import (
    PARAMS,
    Account,
    decide,
    match,
    parse_account,
    silent_share,
    version_account,
)
from tracker.analysis.changes import DetectedChange, _common_words
from tracker.analysis.passages import Passage, split_passages
from tracker.core.errors import ValidationError
from tracker.ingest.catalog import Catalog, load_catalog

LABELS = {"ANN": "announced", "ANN-P": "partly", "SIL": "silent", "NCL": "no-changelog"}
STATES = ("announced", "partly", "silent", "no-changelog")
GRID = [dict(k_ann=a, f_ann=b, k_part=c, f_part=d)
        for a, b, c, d in itertools.product([2, 3, 4, 5], [0.05, 0.1, 0.15, 0.2, 0.3], [1, 2, 3], [0.0, 0.05, 0.1])
        if c < a]


@dataclass
class _Context:
    account: Account
    has_account: bool
    common: frozenset[str]


def _company_for(catalog: Catalog, provider: str) -> str:
    for company in catalog.companies:
        names = {company.id, company.name.lower(), *(a.lower() for a in company.aliases)}
        if provider.lower() in names or provider.lower().split()[0] in names:
            return company.id
    raise ValidationError(f"provider {provider!r} of the pairs file is not a company in data/companies.yaml")


def _known(catalog: Catalog, company_id: str, corpus_version: str) -> dict:
    for company, source in catalog.sources:
        if company != company_id:
            continue
        for version in source.versions:
            if version.corpus_version == corpus_version:
                return version.model_dump()
    raise ValidationError(f"{company_id}: no version with corpus_version {corpus_version!r} in data/sources/")


def _read(corpus_dir: Path, name: str | None, what: str) -> str:
    path = corpus_dir / (name or "")
    if not name or not path.is_file():
        raise ValidationError(f"{path}: {what} not found; pass --corpus DIR (the shared corpus folder)")
    return path.read_text(encoding="utf-8")


def _file_account(corpus_dir: Path, known: dict) -> Account | None:
    path = corpus_dir / "changelogs" / (known.get("revision_account") or "")
    return parse_account(path.read_text(encoding="utf-8")) if known.get("revision_account") and path.is_file() else None


def _contexts(rows: list[dict], corpus_dir: Path, catalog: Catalog) -> dict[tuple[str, str, str], _Context]:
    contexts = {}
    for row in rows:
        key = (row["provider"], row["from"], row["to"])
        if key in contexts:
            continue
        company = _company_for(catalog, row["provider"])
        old, new = _known(catalog, company, row["from"]), _known(catalog, company, row["to"])
        old_text = _read(corpus_dir, old.get("corpus_file"), "the old version's text")
        new_text = _read(corpus_dir, new.get("corpus_file"), "the new version's text")
        account, has_account = version_account(new_text, old_text, file_account=_file_account(corpus_dir, new),
                                               previous_file_account=_file_account(corpus_dir, old))
        common = _common_words([*split_passages(old_text), *split_passages(new_text)])
        contexts[key] = _Context(account, has_account, common)
    return contexts


def _change(row: dict) -> DetectedChange:
    old = Passage(0, 0, len(row["old"]), row["old"], "", None) if row.get("old") else None
    new = Passage(0, 0, len(row["new"]), row["new"], "", None) if row.get("new") else None
    return DetectedChange(row["direction"], [], old, new, 0.0)


def _accuracy(gold: list[str], predicted: list[str]) -> float | None:
    return round(sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold), 3) if gold else None


def evaluate_announcements(rows: list[dict], corpus_dir: Path, data_dir: Path) -> dict:
    """Leave-one-provider-out scores of the announcement judgement on the material labelled pairs."""
    catalog = load_catalog(data_dir)
    material = [r for r in rows if r.get("material") == "yes" and r.get("announcement") in LABELS]
    if not material:
        raise ValidationError("no material pairs with an announcement label (ANN, ANN-P, SIL, NCL) in the file")
    contexts = _contexts(material, corpus_dir, catalog)
    changes = [_change(r) for r in material]
    gold = [LABELS[r["announcement"]] for r in material]
    providers = sorted({r["provider"] for r in material})

    matches = []
    for row, change in zip(material, changes, strict=True):
        context = contexts[(row["provider"], row["from"], row["to"])]
        found = match(change, context.account, common_words=context.common) if context.account else None
        matches.append((context.has_account, found))

    def predict(params: dict, indices: list[int]) -> list[str]:
        """The pipeline's judgement (`judge`), from matches computed once."""
        return [("no-changelog" if not matches[i][0] else "silent" if matches[i][1] is None
                 else decide(matches[i][1], params)) for i in indices]  # type: ignore[arg-type]

    by_provider = {p: [i for i, r in enumerate(material) if r["provider"] == p] for p in providers}
    held_out: dict[int, str] = {}
    per_provider = {}
    for provider in providers:
        others = [i for p in providers if p != provider for i in by_provider[p]]
        best = max(GRID, key=lambda params: (_accuracy([gold[i] for i in others], predict(params, others)) or 0.0,
                                             params == PARAMS))
        predicted = predict(best, by_provider[provider])
        held_out.update(zip(by_provider[provider], predicted, strict=True))
        provider_gold = [gold[i] for i in by_provider[provider]]
        per_provider[provider] = {
            "n": len(provider_gold), "params_chosen_on_the_others": best,
            "accuracy": _accuracy(provider_gold, predicted),
            "silent_rate_strict": {"gold": _round(silent_share(provider_gold)), "tracker": _round(silent_share(predicted))},
        }
    predicted = [held_out[i] for i in range(len(material))]
    confusion = Counter(zip(gold, predicted, strict=True))
    strict_gold = [g == "announced" for g in gold]
    strict_predicted = [p == "announced" for p in predicted]
    return {
        "n": len(material), "providers": providers, "scoring": "leave-one-provider-out", "params_shipped": PARAMS,
        "accuracy": _accuracy(gold, predicted),
        "baseline_always_silent": _accuracy(gold, ["silent"] * len(gold)),
        "announced_vs_not_accuracy": round(sum(a == b for a, b in zip(strict_gold, strict_predicted, strict=True))
                                           / len(gold), 3),
        "silent_rate_strict": {"gold": _round(silent_share(gold)), "tracker": _round(silent_share(predicted))},
        "confusion": {g: {p: confusion[(g, p)] for p in STATES} for g in STATES},
        "per_provider": per_provider,
    }


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def format_announcement_report(result: dict) -> str:
    """The scores as plain text for the terminal."""
    lines = [f"announced / partly / silent / no-changelog on {result['n']} material labelled pairs "
             f"({result['scoring']})", "",
             f"accuracy {result['accuracy']:.3f}  (always 'silent': {result['baseline_always_silent']:.3f}); "
             f"announced vs not: {result['announced_vs_not_accuracy']:.3f}",
             f"silent-revision rate, strict: coders {result['silent_rate_strict']['gold']:.3f}, "
             f"tracker {result['silent_rate_strict']['tracker']:.3f}", "",
             "gold \\ tracker  " + "  ".join(f"{s:>12}" for s in STATES)]
    for g in STATES:
        lines.append(f"{g:<15} " + "  ".join(f"{result['confusion'][g][p]:>12}" for p in STATES))
    lines += ["", "held-out provider   n    accuracy  silent rate coders/tracker  params chosen on the others"]
    for provider, scores in result["per_provider"].items():
        rate = scores["silent_rate_strict"]
        lines.append(f"{provider:<18} {scores['n']:>4}  {scores['accuracy']:>8.3f}  "
                     f"{rate['gold']:.3f}/{rate['tracker']:.3f}{'':>14}{scores['params_chosen_on_the_others']}")
    return "\n".join(lines) + "\n"
