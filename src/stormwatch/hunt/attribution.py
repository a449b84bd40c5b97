"""Score a cluster against actor profiles: LLM-TTPs, ATT&CK overlap, interests, languages, active hours."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stormwatch.hunt.profiles import ActorProfile, display_name
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


def _llm_profile(p: ActorProfile) -> bool:
    """Curated profiles (tracked actors, generic behaviours) carry LLM signals; bare ATT&CK groups do not."""
    return p.profile_kind != "attack-group"


def _score_ttp(sig: ClusterSignals, p: ActorProfile) -> tuple[float, str | None]:
    total = sum(sig.categories.values())
    slugs = p.llm_ttp_slugs
    if not total or not slugs:
        return 0.0, None
    inside = {c: n for c, n in sig.categories.items() if c in slugs}
    if not inside:
        return 0.0, None
    precision = sum(inside.values()) / total
    recall = len(inside) / len(slugs)
    f1 = 2 * precision * recall / (precision + recall)
    shown = ", ".join(f"{c} ({n})" for c, n in sorted(inside.items(), key=lambda kv: -kv[1])[:4])
    return (
        f1,
        f"LLM-TTPs: {len(inside)} of the profile's {len(slugs)} categories seen, "
        f"{precision:.0%} of flagged activity: {shown}",
    )


def _score_interests(sig: ClusterSignals, p: ActorProfile) -> tuple[float, str | None]:
    if not p.interests or not sig.prompts:
        return 0.0, None
    themes: Counter[str] = Counter()
    words: Counter[str] = Counter()
    matched = 0
    lowered = [t.casefold() for t in sig.prompts]
    for low in lowered:
        hit = False
        for theme in p.interests:
            found = [k for k in theme.keywords if k in low]
            if found:
                hit = True
                themes[theme.theme] += 1
                words.update(found)
        matched += hit
    if not matched:
        return 0.0, None
    frac = matched / len(lowered)
    score = min(1.0, frac / 0.25) * min(1.0, len(themes) / 2) ** 0.5
    shown = "; ".join(f"{t} ({n})" for t, n in sorted(themes.items(), key=lambda kv: (-kv[1], kv[0]))[:4])
    kw = ", ".join(f"'{k}'" for k, _ in words.most_common(4))
    return score, (
        f"interests: {matched} of {len(lowered)} prompts touch the profile's themes: {shown} (e.g. {kw})"
    )


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
    window = p.active_hours_utc
    total = sum(sig.hours)
    if window is None or total < 10:
        return 0.0, None
    inside = [h for h in range(24) if (window.start <= h < window.end if window.start < window.end
                                       else h >= window.start or h < window.end)]  # fmt: skip
    share = sum(sig.hours[h] for h in inside) / total
    chance = len(inside) / 24
    score = max(0.0, (share - chance) / (1 - chance))
    if score <= 0.2:
        return 0.0, None
    return score, (
        f"active hours: {share:.0%} of activity falls in the profile's {window.start:02d}:00-"
        f"{window.end % 24:02d}:00 UTC window ({window.assumption})"
    )


def _score_techniques(sig: ClusterSignals, p: ActorProfile) -> tuple[float, str | None]:
    attack = {t: n for t, n in sig.techniques.items() if t.startswith("T")}
    total = sum(attack.values())
    known_ids = p.technique_ids
    if not total or not known_ids:
        return 0.0, None
    known = {t: n for t, n in attack.items() if t in known_ids or t.split(".")[0] in known_ids}
    if not known:
        return 0.0, None
    share = sum(known.values()) / total
    gid = f" ({p.attack_group_id})" if p.attack_group_id else ""
    shown = ", ".join(sorted(known)[:6])
    return (
        share,
        f"ATT&CK: {len(known)} of {len(attack)} techniques seen are known techniques of "
        f"{display_name(p)}{gid}: {shown}",
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
    if not _llm_profile(profile):
        share, ev = _score_techniques(sig, profile)
        overlap = len({t for t in sig.techniques if t in profile.technique_ids})
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
        if score < min_score or not evidence or (_llm_profile(p) and strong_kinds < 2):
            continue
        out.append(
            Attribution(
                actor=display_name(p),
                group_id=p.attack_group_id,
                score=round(score, 4),
                evidence=tuple(evidence),
            )
        )
    out.sort(key=lambda a: (-a.score, a.actor))
    return out[:MAX_CANDIDATES]


def signals_of(
    categories: Counter[str], techniques: Counter[str], prompts: Sequence[str], languages: Counter[str],
    hours: Sequence[int],
) -> ClusterSignals:  # fmt: skip
    """Bundle a cluster's aggregates for scoring."""
    return ClusterSignals(categories, techniques, languages, tuple(hours), tuple(prompts))
