"""Small text signals the hunt reads from prompts and responses: language, refusals, pretexts, shingles."""

from __future__ import annotations

import re
import unicodedata

_LATIN_STOP: dict[str, frozenset[str]] = {
    "en": frozenset(
        [
            "the",
            "and",
            "is",
            "are",
            "to",
            "of",
            "in",
            "for",
            "with",
            "how",
            "what",
            "write",
            "my",
            "me",
            "you",
            "this",
            "that",
            "can",
            "do",
        ]
    ),
    "es": frozenset(
        [
            "el",
            "la",
            "los",
            "las",
            "de",
            "que",
            "y",
            "en",
            "para",
            "por",
            "cómo",
            "como",
            "una",
            "un",
            "es",
            "mi",
            "sobre",
            "con",
        ]
    ),
    "pt": frozenset(
        [
            "o",
            "a",
            "os",
            "as",
            "de",
            "que",
            "e",
            "em",
            "para",
            "por",
            "como",
            "uma",
            "um",
            "é",
            "meu",
            "sobre",
            "com",
            "você",
            "não",
        ]
    ),
    "de": frozenset(
        [
            "der",
            "die",
            "das",
            "und",
            "ist",
            "zu",
            "in",
            "für",
            "mit",
            "wie",
            "ich",
            "ein",
            "eine",
            "nicht",
            "mir",
        ]
    ),
    "fr": frozenset(
        [
            "le",
            "la",
            "les",
            "et",
            "est",
            "de",
            "des",
            "pour",
            "avec",
            "comment",
            "un",
            "une",
            "je",
            "moi",
            "sur",
        ]
    ),
    "it": frozenset(
        ["il", "lo", "la", "gli", "le", "di", "che", "e", "per", "con", "come", "una", "un", "sono", "mi"]
    ),
}
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_PERSIAN_ONLY = frozenset("پچژگکی")

REFUSAL_PATTERNS = re.compile(
    r"(?:\bI(?:'m| am) (?:sorry|unable)\b|\bI can(?:'|no)t (?:help|assist|provide|comply)|\bI cannot\b|"
    r"\bI won't\b|\bnot able to help\b|Извините, я не могу|не могу помочь|죄송하지만|도와드릴 수 없|"
    r"نمی‌توانم|متأسفم|抱歉|无法协助|不能协助|Lo siento, no puedo|Desculpe, não posso|"
    r"Je ne peux pas|Ich kann (?:dabei )?nicht)",
    re.IGNORECASE,
)
PRETEXT_PATTERNS = re.compile(
    r"(?:security researcher|authori[sz]ed (?:test|research|pentest)|penetration test|red[- ]team|"
    r"for (?:a|my) (?:novel|story|book|class|course)|hypothetical|educational purposes|"
    r"учебного курса|보안 교육|آموزش امنیت|安全研究|已获授权|investigación autorizada)",
    re.IGNORECASE,
)


def detect_language(text: str) -> str:
    """A rough ISO 639-1 code from script and stop words ("und" when unsure)."""
    counts: dict[str, int] = {}
    for ch in text[:600]:
        if not ch.isalpha():
            continue
        if ch < "\u0250":
            key = "latin"
        elif "\uac00" <= ch <= "\ud7af" or "\u1100" <= ch <= "\u11ff":
            key = "ko"
        elif "\u3040" <= ch <= "\u30ff":
            key = "ja"
        elif "\u4e00" <= ch <= "\u9fff":
            key = "zh"
        elif "\u0400" <= ch <= "\u04ff":
            key = "ru"
        elif "\u0600" <= ch <= "\u06ff":
            key = "fa" if ch in _PERSIAN_ONLY else "ar"
        elif "\u0590" <= ch <= "\u05ff":
            key = "he"
        elif unicodedata.name(ch, "").startswith("LATIN"):
            key = "latin"
        else:
            key = "other"
        counts[key] = counts.get(key, 0) + 1
    if not counts:
        return "und"
    if counts.get("ja"):
        return "ja"  # kana decides between Japanese and Chinese
    if counts.get("fa") and counts.get("ar", 0) + counts["fa"] >= max(counts.values()):
        return "fa"
    top = max(counts, key=lambda k: counts[k])
    if top == "ar" and counts.get("fa"):
        return "fa"
    if top != "latin":
        return top if top != "other" else "und"
    words = [w.lower() for w in _WORD.findall(text[:600])]
    best, best_hits = "en", 0
    for lang, stop in _LATIN_STOP.items():
        hits = sum(1 for w in words if w in stop)
        if hits > best_hits:
            best, best_hits = lang, hits
    return best


def is_refusal(response: str | None) -> bool:
    """True when a model response reads as a refusal (several languages)."""
    return bool(response) and REFUSAL_PATTERNS.search(response[:400]) is not None  # type: ignore[index]


def has_pretext(prompt: str) -> bool:
    """True when a prompt wraps its request in a justification (research, fiction, authorisation)."""
    return PRETEXT_PATTERNS.search(prompt[:1000]) is not None


_NOISE = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "me",
        "my",
        "i",
        "you",
        "your",
        "it",
        "is",
        "are",
        "be",
        "this",
        "that",
        "please",
        "hi",
        "hello",
        "thanks",
        "thank",
        "quick",
        "question",
        "can",
        "could",
        "would",
        "will",
        "do",
        "does",
        "how",
        "what",
        "which",
        "who",
    ]
)


def shingles(text: str, k: int = 1) -> set[str]:
    """Word k-shingles of a normalised text without greetings and stop words (character 4-grams for
    scripts written without spaces), so paraphrase and politeness padding change little."""
    norm = unicodedata.normalize("NFKC", text).lower()
    words = [w for w in _WORD.findall(norm) if w not in _NOISE]
    if len(words) <= 3 and len(norm) > 12:  # CJK and similar: one "word" per clause
        compact = re.sub(r"\s+", "", norm)
        return {compact[i : i + 4] for i in range(max(1, len(compact) - 3))}
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}
