"""Flags text that hides content from a human reader: Unicode tag characters, bidi overrides, zero-width runs."""

from __future__ import annotations

import re
from typing import ClassVar

from stormwatch.detectors.base import register
from stormwatch.models import Event, Evidence, Finding

# Unicode "tag" block (invisible ASCII smuggling), bidi embedding/override/isolate controls, and zero-width
# characters. One compiled class so benign text costs a single scan.
_HIDDEN = re.compile("[\U000e0000-\U000e007f\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]")
_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_ZW_SPLIT = re.compile("\\w[\u200b-\u200d\u2060\ufeff]\\w")


@register("obfuscation")
class ObfuscationDetector:
    """Invisible or direction-tricking characters inside a prompt (ATLAS AML.T0068)."""

    id: ClassVar[str] = "obfuscation"
    stage: ClassVar[str] = "fast"

    def detect(self, event: Event) -> list[Finding]:
        """Report hidden-character obfuscation, one finding per kind."""
        out: list[Finding] = []
        for ti, turn in enumerate(event.turns()):
            text = turn.content
            if not text or _HIDDEN.search(text) is None:
                continue
            tags = _TAGS.search(text)
            if tags is not None:
                hidden = "".join(chr(ord(c) - 0xE0000) for c in tags.group() if 0xE0020 <= ord(c) <= 0xE007E)
                out.append(
                    Finding(
                        detector=self.id,
                        rule="SW-OBF-TAGS",
                        score=0.6 if len(hidden) >= 8 else 0.3,
                        category="prompt-obfuscation",
                        techniques=("AML.T0068",),
                        evidence=(Evidence(turn=ti, start=tags.start(), end=tags.end(), text=hidden[:200]),),
                        explanation=f"invisible Unicode tag characters carry hidden text ({len(hidden)} chars)",
                    )
                )
            bidi = _BIDI.search(text)
            if bidi is not None:
                out.append(
                    Finding(
                        detector=self.id,
                        rule="SW-OBF-BIDI",
                        score=0.35,
                        category="prompt-obfuscation",
                        techniques=("AML.T0068",),
                        evidence=(
                            Evidence(turn=ti, start=bidi.start(), end=bidi.end(), text=repr(bidi.group())),
                        ),
                        explanation="bidirectional override characters reorder what a reader sees",
                    )
                )
            splits = list(_ZW_SPLIT.finditer(text))
            if len(splits) >= 3:
                first = splits[0]
                out.append(
                    Finding(
                        detector=self.id,
                        rule="SW-OBF-ZWSPLIT",
                        score=0.35,
                        category="prompt-obfuscation",
                        techniques=("AML.T0068",),
                        evidence=(Evidence(turn=ti, start=first.start(), end=splits[-1].end(), text=""),),
                        explanation=f"zero-width characters split {len(splits)} words (filter evasion)",
                    )
                )
        return out
