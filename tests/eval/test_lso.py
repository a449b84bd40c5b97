"""The leave-sources-out harness: folds hold whole sources, thresholds come from calibration rows only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stormwatch.eval.lso import (
    Scored,
    assign_folds,
    calib_split,
    family,
    run_lso,
    task_of,
    threshold_at,
    to_markdown,
)


@dataclass(frozen=True)
class R:
    text: str
    label: str
    source: str
    group: str
    lang: str = "en"
    role: str = "user"
    tactic: str | None = None


def test_folds_hold_whole_families_and_balance() -> None:
    sizes = {f"s{i}": 10 * (i + 1) for i in range(12)}
    folds = assign_folds(sizes, 5, seed=0)
    assert set(folds) == set(sizes) and set(folds.values()) == set(range(5))
    load = [sum(n for f, n in sizes.items() if folds[f] == j) for j in range(5)]
    assert max(load) - min(load) <= max(sizes.values())
    assert assign_folds(sizes, 5, seed=0) == folds  # deterministic


def test_template_families_keep_languages_together() -> None:
    ts = frozenset({"templates"})
    assert family("templates", "tpl:keylogger:en", ts) == family("templates", "tpl:keylogger:ja", ts)
    assert family("oasst", "oasst:123", ts) == "oasst"


def test_threshold_at_gives_at_most_the_target_fpr() -> None:
    s = np.linspace(0, 1, 1000)
    t = threshold_at(s, 0.01)
    assert (s >= t).mean() <= 0.01
    assert (s >= t).mean() >= 0.009


def test_calib_split_keeps_groups_together() -> None:
    rows = [R(f"t{i}", "benign", "a", f"g{i % 50}") for i in range(1000)]
    tr, ca = calib_split(rows)
    assert {r.group for r in tr}.isdisjoint({r.group for r in ca})
    assert 0.05 < len(ca) / len(rows) < 0.3


def test_task_of() -> None:
    cyber = frozenset({"llm-aided-development"})
    assert task_of("benign", cyber) is None
    assert task_of("jailbreak", cyber) == "jailbreak"
    assert task_of("indirect-prompt-injection", cyber) == "injection"
    assert task_of("llm-aided-development", cyber) == "cyber"
    assert task_of("harmful-content", cyber) == "harmful"


def _keyword_recipe(seen: list[set[str]]):  # type: ignore[no-untyped-def]
    """A recipe that 'learns' the words of its malicious training rows; records which sources it saw."""

    def recipe(train: Sequence[R], calib: Sequence[R], seed: int):  # type: ignore[no-untyped-def]
        seen.append({r.source for r in train} | {r.source for r in calib})
        bad = {w for r in train if r.label != "benign" for w in r.text.split()}

        def score(rows: Sequence[R]) -> Scored:
            p = np.array([len(set(r.text.split()) & bad) / max(1, len(r.text.split())) for r in rows])
            return Scored(p=p, tactic=[None] * len(rows))

        return score

    return recipe


def _corpus() -> list[R]:
    rows: list[R] = []
    for s in range(6):  # six injection sources sharing the word "ignore", each with its own style word
        for i in range(40):
            rows.append(R(f"ignore style{s} rules now {i}", "prompt-injection", f"inj{s}", f"inj{s}:{i}"))
    for s in range(6):
        for i in range(60):
            rows.append(
                R(
                    f"what is the weather like {s} {i}",
                    "benign",
                    f"ben{s}",
                    f"ben{s}:{i}",
                    "en" if s % 2 else "fr",
                )
            )
    return rows


def test_run_lso_trains_without_the_held_out_sources() -> None:
    seen: list[set[str]] = []
    rows = _corpus()
    rep = run_lso(rows, _keyword_recipe(seen), k=3, seed=0)
    assert len(seen) == 3
    for fold_sources, train_sources in zip(rep.folds, seen, strict=True):
        assert set(fold_sources).isdisjoint(train_sources)  # the held-out fold never reaches training
    inj = next(t for t in rep.tasks if t.task == "injection")
    assert inj.n == 240 and 0.0 <= inj.tpr_worst_source <= inj.tpr_mean_source <= 1.0
    assert {p.source for p in inj.per_source} == {f"inj{s}" for s in range(6)}
    gen = rep.fpr[0]
    assert {p.source for p in gen.per_source} == {f"ben{s}" for s in range(6)}
    assert set(gen.per_language) == {"en", "fr"}
    md = to_markdown(rep, "toy")
    assert "injection" in md and "ben0" in md


def test_pretext_flips_are_counted() -> None:
    seen: list[set[str]] = []
    # A wrapper made of many benign words dilutes the keyword score below the threshold: a flip.
    wrapper = ("en", "paper", "for my paper about the weather like what is " * 3 + "{request}")
    rep = run_lso(_corpus(), _keyword_recipe(seen), k=3, seed=0, pretexts=[wrapper])
    fl = rep.flips[0]
    assert fl.pairs > 0 and fl.base_detected > 0 and 0.0 <= fl.flip_rate <= 1.0
    assert fl.flipped == round(fl.flip_rate * fl.base_detected)


def test_external_mode_trains_on_everything_and_tests_the_external_rows() -> None:
    seen: list[set[str]] = []
    ext = [R(f"ignore the system prompt {i}", "prompt-injection", "ext-inj", f"x{i}") for i in range(30)]
    ext += [R(f"a weather question {i}", "benign", "ext-ben", f"y{i}") for i in range(30)]
    rep = run_lso(_corpus(), _keyword_recipe(seen), seed=0, external=ext)
    assert len(seen) == 1 and "ext-inj" not in seen[0] and len(seen[0]) == 12
    assert rep.folds == [["ext-ben", "ext-inj"]]
    inj = next(t for t in rep.tasks if t.task == "injection")
    assert [p.source for p in inj.per_source] == ["ext-inj"]


def test_near_duplicates_across_sources_are_dropped_from_test() -> None:
    seen: list[set[str]] = []
    rows = _corpus()
    # The same group id in two sources = MinHash merged them: whichever fold tests one, the other trains.
    rows.append(R("ignore style0 rules now 0 copy", "prompt-injection", "ben5", "inj0:0"))
    rep = run_lso(rows, _keyword_recipe(seen), k=3, seed=0)
    assert "dropped" in rep.notes[0] and not rep.notes[0].startswith("0 ")
