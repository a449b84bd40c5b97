"""A small intent-keyword scanner: the hunt's stand-in when the detection engine is not importable.

It exists so the hunt (and its tests) run on their own; the real engine (`stormwatch.engine`) is used
whenever it is available. Patterns look for an intent (write / build / evade ...) next to an object.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from stormwatch.models import Event, Evidence, Finding, Verdict


@dataclass(frozen=True)
class _Rule:
    id: str
    category: str
    techniques: tuple[str, ...]
    pattern: re.Pattern[str]
    score: float


def _r(rid: str, category: str, techniques: tuple[str, ...], pattern: str, score: float) -> _Rule:
    return _Rule(rid, category, techniques, re.compile(pattern, re.IGNORECASE), score)


RULES: tuple[_Rule, ...] = (
    _r(
        "kw-phishing",
        "llm-supported-social-engineering",
        ("T1566", "T1598"),
        r"(write|draft|create|compose|produce)\b.{0,40}(phishing|impersonat)|impersonates|lures? .{0,40}(sign-in|login)|(open|review) (a|the) (document|manuscript|file)|"
        r"사칭|피싱|فیشینگ|به صفحه ورود|ایمیل .{0,30}دعوت|原稿|검토 요청|staff to reset passwords",
        0.75,
    ),
    _r(
        "kw-vuln",
        "llm-assisted-vulnerability-research",
        ("T1588.006", "T1203"),
        r"weaponi[sz]e|(how|can) .{0,30}(exploit|triggered)|vulnerabilit\w+ .{0,40}(exploited|code execution)",
        0.7,
    ),
    _r(
        "kw-evasion",
        "llm-enhanced-anomaly-detection-evasion",
        ("T1562.001", "T1070.004", "T1027"),
        r"(evade|avoid|without) .{0,30}(detection|antivirus|edr|noticing)|disable windows defender|"
        r"deletes? (itself|all files)|hide .{0,30}(process|itself)|clear .{0,20}event logs|"
        r"Windows Defender را|پاک کند",
        0.8,
    ),
    _r(
        "kw-opcmd",
        "llm-refined-operational-command",
        ("T1003", "T1068", "T1021"),
        r"dump .{0,30}(credentials|password hashes)|move laterally|escalate privileges|提权|横向移动",
        0.8,
    ),
    _r(
        "kw-fraud",
        "fraud-scam",
        ("T1656",),
        r"send money|guaranteed profit|\d+% monthly returns|fake (customers?|customer testimonials)|"
        r"verify their account|confirm their card",
        0.8,
    ),
    _r(
        "kw-spe",
        "system-prompt-extraction",
        ("AML.T0056",),
        r"system prompt|hidden instruction|prompt de sistema|text above starting with",
        0.8,
    ),
    _r(
        "kw-override",
        "prompt-injection",
        ("AML.T0051.000",),
        r"ignore (all )?previous instructions|forget your rules|ignora todas|ignore todas|"
        r"you are dan|ai with no rules",
        0.6,
    ),
    _r(
        "kw-indirect",
        "indirect-prompt-injection",
        ("AML.T0051.001",),
        r"html comment that tells|hidden instructions|markdown image",
        0.8,
    ),
    _r(
        "kw-malware",
        "llm-optimized-payload-crafting",
        ("T1587.001",),
        r"write (malicious code|a keylogger|ransomware)",
        0.85,
    ),
    _r(
        "kw-recon",
        "llm-informed-reconnaissance",
        ("T1591", "T1593"),
        r"(list|find) (experts|organisations|clinics|hospitals)|security products does|cybersecurity tools it uses|"
        r"전문가 목록|使用了哪些网络安全工具|expose .{0,30} to the internet",
        0.45,
    ),
)


class KeywordScanner:
    """Scans events with the intent-keyword rules above; same output type as the engine."""

    def scan_batch(self, events: Sequence[Event]) -> list[Verdict]:
        """One verdict per event, in order."""
        return [self._scan(e) for e in events]

    def __call__(self, events: Sequence[Event]) -> list[Verdict]:
        """Alias of `scan_batch` so the scanner is a plain callable."""
        return self.scan_batch(events)

    @staticmethod
    def _scan(event: Event) -> Verdict:
        findings: list[Finding] = []
        for turn, msg in enumerate(event.messages):
            if msg.role != "user":
                continue
            text = msg.content[:4000]
            for rule in RULES:
                m = rule.pattern.search(text)
                if m:
                    findings.append(
                        Finding(
                            detector="hunt-keywords",
                            rule=rule.id,
                            score=rule.score,
                            category=rule.category,
                            techniques=rule.techniques,
                            evidence=(Evidence(turn=turn, start=m.start(), end=m.end(), text=m.group(0)),),
                            explanation=f"{rule.category}: matched {m.group(0)!r}",
                        )
                    )
        if not findings:
            return Verdict(id=event.id, risk=0.0, verdict="allow")
        findings.sort(key=lambda f: -f.score)
        risk = findings[0].score
        cats = tuple(dict.fromkeys(f.category for f in findings if f.category))
        techs = tuple(dict.fromkeys(t for f in findings for t in f.techniques))
        label = "block" if risk >= 0.75 else "flag"
        return Verdict(
            id=event.id, risk=risk, verdict=label, categories=cats, techniques=techs, findings=tuple(findings)
        )
