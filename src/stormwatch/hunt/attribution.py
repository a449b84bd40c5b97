"""Score a cluster against actor profiles: LLM-TTPs, ATT&CK overlap, interests, languages, active hours."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stormwatch.hunt.analytics import likely_utc_offset
from stormwatch.hunt.profiles import ActorProfile
from stormwatch.models import Attribution

WEIGHTS = {"ttp": 0.25, "interests": 0.35, "language": 0.15, "hours": 0.15, "techniques": 0.10}
MIN_SCORE = 0.4
MAX_CANDIDATES = 3


@dataclass(frozen=True)
class ClusterSignals:
    """What attribution looks at for one cluster."""

    categories: Counter[str]
    techniques: Counter[str]
    languages: Counter[str]
    hours: tuple[int, ...]
    prompts: tuple[str, ...]


def _fmt_offset(off: float) -> str:
    h = int(abs(off))
    m = "30" if abs(off) - h >= 0.5 else ""
    return f"UTC{'+' if off >= 0 else '-'}{h}{':' + m if m else ''}"


def _score_ttp(sig: ClusterSignals, p: ActorProfile) -> tuple[float, str | None]:
    total = sum(sig.categories.values())
    if not total or not p.llm_ttps:
        return 0.0, None
    inside = {c: n for c, n in sig.categories.items() if c in p.llm_ttps}
    precision = sum(inside.values()) / total
    recall = len(inside) / len(p.llm_ttps)
    if not inside:
        return 0.0, None
    f1 = 2 * precision * recall / (precision + recall)
    shown = ", ".join(f"{c} ({n})" for c, n in sorted(inside.items(), key=lambda kv: -kv[1])[:4])
    return (
        f1,
        f"LLM-TTPs: {len(inside)} of the profile's {len(p.llm_ttps)} categories seen, {precision:.0%} of flagged activity: {shown}",
    )


def _score_interests(sig: ClusterSignals, p: ActorProfile) -> tuple[float, str | None]:
    if not p.interests or not sig.prompts:
        return 0.0, None
    hits: Counter[str] = Counter()
    matched = 0
    for text in sig.prompts:
        low = text.lower()
        found = [k for k in p.interests if k in low]
        if found:
            matched += 1
            hits.update(found)
    if not matched:
        return 0.0, None
    frac = matched / len(sig.prompts)
    score = min(1.0, frac / 0.25) * min(1.0, len(hits) / 3) ** 0.5
    shown = ", ".join(f"'{k}' ({n})" for k, n in hits.most_common(5))
    return score, f"interests: {matched} of {len(sig.prompts)} prompts mention the profile's themes: {shown}"


def _score_language(sig: ClusterSignals, p: ActorProfile) -> tuple[float, str | None]:
    foreign = {k: n for k, n in sig.languages.items() if k not in ("en", "und")}
    mass = sum(foreign.values())
    total = sum(sig.languages.values())
    if not total or mass / total < 0.03 or not p.languages:
        return 0.0, None
    wanted = {lang for lang in p.languages if lang != "en"}
    hit = sum(n for k, n in foreign.items() if k in wanted)
    if not hit:
        return 0.0, None
    shown = ", ".join(f"{k} ({n})" for k, n in sorted(foreign.items(), key=lambda kv: -kv[1])[:3])
    return hit / mass, f"languages: non-English prompts {shown}; profile languages {', '.join(p.languages)}"


def _score_hours(sig: ClusterSignals, p: ActorProfile) -> tuple[float, str | None]:
    off = likely_utc_offset(list(sig.hours), min_events=10)
    if off is None or not p.utc_offsets:
        return 0.0, None
    d = min(min(abs(off - o), 24 - abs(off - o)) for o in p.utc_offsets)
    score = max(0.0, 1.0 - d / 3.0)
    if score <= 0:
        return 0.0, None
    prof = ", ".join(_fmt_offset(o) for o in p.utc_offsets)
    return score, f"active hours: a working day at {_fmt_offset(off)} (profile {prof})"


def _score_techniques(sig: ClusterSignals, p: ActorProfile) -> tuple[float, str | None]:
    attack = {t: n for t, n in sig.techniques.items() if t.startswith("T")}
    total = sum(attack.values())
    if not total or not p.techniques:
        return 0.0, None
    known = {t: n for t, n in attack.items() if t in p.techniques or t.split(".")[0] in p.techniques}
    if not known:
        return 0.0, None
    share = sum(known.values()) / total
    gid = f" ({p.group_id})" if p.group_id else ""
    shown = ", ".join(sorted(known)[:6])
    return (
        share,
        f"ATT&CK: {len(known)} of {len(attack)} techniques seen are known techniques of {p.name}{gid}: {shown}",
    )


_SCORERS = {
    "ttp": _score_ttp,
    "interests": _score_interests,
    "language": _score_language,
    "hours": _score_hours,
    "techniques": _score_techniques,
}


def score_profile(sig: ClusterSignals, profile: ActorProfile) -> tuple[float, list[str]]:
    """The weighted score in [0, 1] and the evidence strings behind it."""
    if not profile.llm_profile:
        share, ev = _score_techniques(sig, profile)
        overlap = len({t for t in sig.techniques if t in profile.techniques})
        score = 0.5 * share * min(1.0, overlap / 4)
        return score, [ev] if ev else []
    score, evidence = 0.0, []
    for name, fn in _SCORERS.items():
        s, ev = fn(sig, profile)
        score += WEIGHTS[name] * s
        if ev and s > 0:
            evidence.append(ev)
    return min(1.0, score), evidence


def attribute_cluster(
    sig: ClusterSignals, profiles: Iterable[ActorProfile], *, min_score: float = MIN_SCORE
) -> list[Attribution]:
    """Ranked candidate actors for a cluster; empty (unattributed) when none is close or lacks evidence."""
    out: list[Attribution] = []
    for p in profiles:
        score, evidence = score_profile(sig, p)
        strong_kinds = sum(1 for e in evidence if not e.startswith("active hours"))
        if score < min_score or not evidence or (p.llm_profile and strong_kinds < 2):
            continue
        out.append(
            Attribution(actor=p.name, group_id=p.group_id, score=round(score, 4), evidence=tuple(evidence))
        )
    out.sort(key=lambda a: (-a.score, a.actor))
    return out[:MAX_CANDIDATES]


def signals_of(
    categories: Counter[str], techniques: Counter[str], prompts: Sequence[str], languages: Counter[str],
    hours: Sequence[int],
) -> ClusterSignals:  # fmt: skip
    """Bundle a cluster's aggregates for scoring."""
    return ClusterSignals(categories, techniques, languages, tuple(hours), tuple(prompts))
