"""Policy: turn findings into a risk in [0, 1], a verdict (allow / flag / block) and plain-word reasons."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from functools import cache, cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stormwatch.errors import ConfigError
from stormwatch.models import Event, Finding, Verdict, VerdictLabel

DEFAULT_POLICY = Path(__file__).resolve().parent / "policies" / "default.yaml"
_RANK: dict[str, int] = {"allow": 0, "flag": 1, "block": 2}

#: Maps a finding to the ATT&CK tactic ids its techniques and category imply.
TacticResolver = Callable[[Finding], Iterable[str]]


class Thresholds(BaseModel):
    """Risk levels at which a category is flagged or blocked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flag: float = Field(ge=0.0, le=1.01)
    block: float = Field(ge=0.0, le=1.01)


class AllowMatch(BaseModel):
    """Which events an allow-list applies to (any listed value matches)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    org_id: tuple[str, ...] = ()
    account_id: tuple[str, ...] = ()
    api_key_id: tuple[str, ...] = ()
    # SHA-256 (hex) of the event's user prompt text, the turns joined by newlines: one reviewed prompt
    # (the analyst console turns a false-positive event into such an entry)
    prompt_sha256: tuple[str, ...] = ()

    def matches(self, event: Event) -> bool:
        """True when the event comes from a listed org, account or API key, or carries a listed prompt."""
        return (
            (event.org_id is not None and event.org_id in self.org_id)
            or (event.account_id is not None and event.account_id in self.account_id)
            or (event.api_key_id is not None and event.api_key_id in self.api_key_id)
            or (bool(self.prompt_sha256) and _prompt_hash(event) in self.prompt_sha256)
        )


def _prompt_hash(event: Event) -> str:
    import hashlib

    text = "\n".join(m.content for m in event.messages if m.role == "user")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class AllowList(BaseModel):
    """Caps the verdict for trusted traffic (e.g. an org of security researchers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    match: AllowMatch
    categories: tuple[str, ...] = ()
    max_verdict: Literal["allow", "flag"] = "flag"


class TargetFpr(BaseModel):
    """Thresholds from target false-positive rates on ordinary prompts instead of raw risk values.

    The learned cascade's findings carry a calibrated risk (`stormwatch.calibration`): risk r is the level
    reached by a known share of the benign calibration prompts. With `target_fpr`, every category without its
    own entry under `categories` is flagged/blocked at the risk of these rates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flag: float = Field(gt=0.0, lt=1.0)
    block: float = Field(gt=0.0, lt=1.0)

    def thresholds(self) -> Thresholds:
        """The risk thresholds these rates correspond to."""
        from stormwatch.calibration import risk_for_fpr

        return Thresholds(flag=risk_for_fpr(self.flag), block=risk_for_fpr(self.block))


class Policy(BaseModel):
    """A verdict policy, usually loaded from YAML."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = 1
    defaults: Thresholds = Thresholds(flag=0.45, block=0.80)
    categories: dict[str, Thresholds] = Field(default_factory=dict)
    allowlists: tuple[AllowList, ...] = ()
    correlated: tuple[tuple[str, ...], ...] = ()
    max_reasons: int = Field(default=3, ge=1, le=20)
    target_fpr: TargetFpr | None = None
    # What a failed detector (or an exhausted work budget) means for the event: fail open (allow), or at
    # least flag / block it. The verdict names what failed in `detector_errors` either way.
    on_detector_error: VerdictLabel = "flag"
    # Work budget of one event (characters handed to detectors, decoding work); None: the engine's default.
    max_work: int | None = Field(default=None, ge=1)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Policy:
        """Load a policy YAML (the packaged default when `path` is None)."""
        if path is None:
            return _default_policy()
        return _load(Path(path))

    def with_allowlists(self, extra: Iterable[AllowList]) -> Policy:
        """This policy with more allow-lists appended (e.g. the analyst console's reviewed entries)."""
        return self.model_copy(update={"allowlists": (*self.allowlists, *extra)})

    @cached_property
    def _group_of(self) -> dict[str, int]:
        return {det: gi for gi, group in enumerate(self.correlated) for det in group}

    def thresholds(self, category: str | None) -> Thresholds:
        """Thresholds for a category (the defaults when it has none of its own)."""
        base = self.target_fpr.thresholds() if self.target_fpr is not None else self.defaults
        if category is None:
            return base
        return self.categories.get(category, base)

    def decide(
        self, event: Event, findings: list[Finding], *, tactics_of: TacticResolver | None = None
    ) -> Verdict:
        """Combine an event's findings into its verdict."""
        real = [f for f in findings if not f.error]
        # Within a category, findings of correlated detectors (e.g. two stages of one model) are one voice:
        # keep their strongest; everything else counts as independent evidence (noisy-OR).
        strongest: dict[tuple[str, object], float] = {}
        for i, f in enumerate(real):
            cat = f.category or "uncategorized"
            group = self._group_of.get(f.detector)
            key: tuple[str, object] = (cat, ("group", group) if group is not None else ("finding", i))
            strongest[key] = max(strongest.get(key, 0.0), f.score)
        survive: dict[str, float] = defaultdict(lambda: 1.0)
        for (cat, _), score in strongest.items():
            survive[cat] *= 1.0 - score
        per_cat: dict[str, float] = {cat: 1.0 - s for cat, s in survive.items()}
        risk_survive = 1.0
        for r in per_cat.values():
            risk_survive *= 1.0 - r
        risk = min(1.0, max(0.0, 1.0 - risk_survive))

        label: VerdictLabel = "allow"
        cat_labels: dict[str, VerdictLabel] = {}
        for cat, r in per_cat.items():
            th = self.thresholds(None if cat == "uncategorized" else cat)
            cl: VerdictLabel = "block" if r >= th.block else "flag" if r >= th.flag else "allow"
            cl = self._cap(event, cat, cl)
            cat_labels[cat] = cl
            if _RANK[cl] > _RANK[label]:
                label = cl

        categories = tuple(
            c for c, _ in sorted(per_cat.items(), key=lambda kv: (-kv[1], kv[0])) if c != "uncategorized"
        )
        tech_score: dict[str, float] = defaultdict(float)
        tac_score: dict[str, float] = defaultdict(float)
        for f in real:
            for t in f.techniques:
                if t.startswith("TA"):
                    tac_score[t] += f.score
                elif not t.startswith("AML.TA"):
                    tech_score[t] += f.score
            if tactics_of is not None:
                for ta in tactics_of(f):
                    tac_score[ta] += f.score * 0.5
        techniques = tuple(t for t, _ in sorted(tech_score.items(), key=lambda kv: (-kv[1], kv[0])))
        tactics = tuple(t for t, _ in sorted(tac_score.items(), key=lambda kv: (-kv[1], kv[0])))

        reasons: list[str] = []
        for f in sorted(real, key=lambda f: (-f.score, f.detector, f.rule)):
            if len(reasons) >= self.max_reasons:
                break
            where = (
                f" (decoded by {f.evidence[0].decoded_by})" if f.evidence and f.evidence[0].decoded_by else ""
            )
            text = f.explanation or f.rule
            reasons.append(f"{f.category or 'finding'} {f.score:.2f}: {text}{where}")
        failed = [f for f in findings if f.error]
        detector_errors = tuple(dict.fromkeys(_failed_name(f) for f in failed))
        if failed and _RANK[self.on_detector_error] > _RANK[label]:
            label = self.on_detector_error  # fail closed: a check that did not run is not a pass
        reasons.extend(f"detector {f.detector} failed: {f.explanation}" for f in failed[:2])
        if failed:
            reasons.append(f"on_detector_error: {self.on_detector_error} ({', '.join(detector_errors)})")
        ordered = tuple(sorted(findings, key=lambda f: (-f.score, f.detector, f.rule)))
        return Verdict(
            id=event.id,
            risk=risk,
            verdict=label,
            categories=categories,
            techniques=techniques,
            tactics=tactics,
            findings=ordered,
            reasons=tuple(reasons),
            detector_errors=detector_errors,
        )

    def _cap(self, event: Event, category: str, label: VerdictLabel) -> VerdictLabel:
        for al in self.allowlists:
            applies = (not al.categories or category in al.categories) and al.match.matches(event)
            if applies and _RANK[label] > _RANK[al.max_verdict]:
                label = al.max_verdict
        return label


def _failed_name(f: Finding) -> str:
    """How a failure is named in `Verdict.detector_errors`: the detector id, or `engine:<budget>`."""
    return f.detector if f.rule == "detector-error" else f"{f.detector}:{f.rule}"


def _load(path: Path) -> Policy:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read policy: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else None
        raise ConfigError(str(path), f"invalid YAML: {exc}", loc) from exc
    if not isinstance(raw, dict):
        raise ConfigError(str(path), "a policy must be a YAML mapping")
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(str(path), f"{first['msg']}", loc) from exc


@cache
def _default_policy() -> Policy:
    return _load(DEFAULT_POLICY)
