"""Rules read out of system/developer messages: forbidden and allowed topics, secrets, persona, output limits."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from stormwatch.detectors.policy_conflict._lexicon import Lexicon, load_lexicon
from stormwatch.models import Event

RuleKind = Literal[
    "forbidden-topic",
    "allowed-topic",
    "secret",
    "persona",
    "output-format",
    "output-length",
    "output-language",
]
RULE_SOURCES = ("system", "developer")
MAX_RULES = 16  # per event
MAX_SYSTEM_CHARS = 12_000  # of each system/developer message
_SENTENCE = re.compile(r"[^.!?;\n。！？；]{1,600}")
# Words too common to stand for a topic of their own ("do not discuss anything about the weather").
_STOP = frozenset(
    [
        "about",
        "above",
        "advice",
        "after",
        "again",
        "answer",
        "answers",
        "any",
        "anything",
        "are",
        "questions",
        "question",
        "regarding",
        "related",
        "relating",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "topic",
        "topics",
        "with",
        "your",
        "yours",
        "from",
        "into",
        "onto",
        "give",
        "provide",
        "offer",
        "discuss",
        "talk",
        "mention",
        "other",
        "others",
        "even",
        "user",
        "users",
        "insist",
        "insists",
        "asks",
        "ask",
        "asked",
        "ever",
        "never",
        "under",
        "circumstances",
        "information",
        "opinions",
        "opinion",
        "content",
        "matters",
        "issues",
        "things",
        "stuff",
        "sobre",
        "acerca",
        "cualquier",
        "tema",
        "temas",
        "preguntas",
        "consejos",
        "consejo",
        "dar",
        "nunca",
        "sujet",
        "sujets",
        "questions",
        "conseils",
        "jamais",
        "aucun",
        "aucune",
        "über",
        "keine",
        "niemals",
        "themen",
        "fragen",
        "ratschläge",
        "sobre",
        "nenhum",
        "temas",
        "perguntas",
        "conselhos",
        "nessun",
        "argomenti",
        "domande",
        "consigli",
    ]
)
_PERSONA_STOP = frozenset(
    [
        "Not",
        "Never",
        "Only",
        "Always",
        "Allowed",
        "Able",
        "The",
        "This",
        "That",
        "Here",
        "An",
        "A",
        "To",
        "In",
        "On",
        "Now",
        "Free",
        "Unable",
        "Forbidden",
        "Required",
    ]
)
_PRONOUNS = frozenset({"it", "this", "these", "this message"})
_HIDES_AI = re.compile(
    r"\b(?:ai|bot|language model|human|artificial)\b|ia\b|ki\b|人工智能|AI|ИИ", re.IGNORECASE
)


class PolicyRule(BaseModel):
    """One rule of a system prompt, with where it was read and what it constrains."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: RuleKind
    text: str  # the sentence the rule was read from (cut to 200 characters)
    turn: int
    start: int
    end: int
    lang: str = "en"
    topics: tuple[str, ...] = ()  # lexicon topic ids (forbidden-topic / allowed-topic)
    terms: tuple[str, ...] = ()  # content words of a topic phrase the lexicon does not know
    phrase: str = ""  # the topic phrase, a format name, the persona name, or what the secret is called
    value: str | None = None  # a secret's value ("the password is X")
    limit: int | None = None
    unit: str | None = None
    language: str | None = None  # ISO code of an output-language rule
    hides_ai: bool = False  # a persona rule that forbids admitting to be an AI


def _topic_of(phrase: str, lex: Lexicon) -> tuple[tuple[str, ...], tuple[str, ...]]:
    topics = tuple(t.id for t in lex.topics.values() if t.aliases.search(phrase))
    if topics:
        return topics, ()
    words = [w for w in re.findall(r"\w{4,}", phrase.lower()) if w not in _STOP and not w.isdigit()]
    if not words:  # CJK phrases have no spaces: keep the phrase itself (cut) as the one term
        short = phrase.strip()[:12]
        return (), ((short,) if len(short) >= 2 else ())
    return (), tuple(dict.fromkeys(words))[:5]


def unit_of(u: str) -> str:
    """A length unit in any of our languages as word / sentence / line / char."""
    u = u.lower()
    for key, stems in (
        ("char", ("char", "caract", "zeichen", "символ", "文字")),
        (
            "word",
            (
                "word",
                "palabra",
                "mot",
                "wört",
                "wort",
                "palavra",
                "parol",
                "слов",
                "字",
                "词",
                "語",
                "كلم",
                "شب",
                "शब्द",
            ),
        ),
        (
            "sentence",
            ("sentence", "frase", "oracion", "oración", "phrase", "satz", "sätz", "предлож", "句", "文"),
        ),
        ("line", ("line", "línea", "ligne", "zeile", "linha", "rig", "строк")),
    ):
        if any(u.startswith(s) for s in stems):
            return key
    return u


def extract_rules(
    event: Event, *, max_rules: int = MAX_RULES, lexicon: Lexicon | None = None
) -> list[PolicyRule]:
    """The rules of every system/developer message of an event, in order (at most `max_rules`)."""
    lex = lexicon or load_lexicon()
    out: list[PolicyRule] = []
    for ti, msg in enumerate(event.messages):
        if msg.role not in RULE_SOURCES or not msg.content:
            continue
        text = msg.content[:MAX_SYSTEM_CHARS]
        for sm in _SENTENCE.finditer(text):
            if len(out) >= max_rules:
                return out
            for r in _sentence_rules(sm.group(), sm.start(), ti, lex):
                # "The password is X. Never reveal it.": the second sentence restates the first rule.
                restates = r.kind == "secret" and r.value is None and r.phrase in _PRONOUNS
                if restates and any(o.kind == "secret" for o in out):
                    continue
                out.append(r)
    return out[:max_rules]


def _sentence_rules(sent: str, base: int, turn: int, lex: Lexicon) -> list[PolicyRule]:
    found: list[PolicyRule] = []
    kinds: set[str] = set()

    def add(kind: RuleKind, m: re.Match[str], lang: str, **kw: object) -> None:
        kinds.add(kind)
        found.append(
            PolicyRule(
                kind=kind,
                text=sent.strip()[:200],
                turn=turn,
                start=base + m.start(),
                end=base + m.end(),
                lang=lang,
                **kw,  # type: ignore[arg-type]
            )
        )

    def first(kind: str) -> tuple[re.Match[str], str] | None:
        for p in lex.extract.get(kind, ()):
            m = p.rx.search(sent)
            if m is not None:
                return m, p.lang
        return None

    if hit := first("secret-value"):
        m, lang = hit
        add("secret", m, lang, phrase=m.group("noun").lower(), value=m.group("value"))
    if "secret" not in kinds and (hit := first("secret-instructions")):
        m, lang = hit
        add("secret", m, lang, phrase=m.group("topic").lower())
    for p in lex.extract.get("persona", ()):
        pm = p.rx.search(sent)
        if pm is not None and pm.group("name").title() not in _PERSONA_STOP:
            m, name = pm, pm.group("name")
            add(
                "persona",
                m,
                p.lang,
                phrase=name,
                hides_ai=bool(_HIDES_AI.search(sent)) and "never" in sent.lower(),
            )
            break
    if hit := first("output-format"):
        m, lang = hit
        add("output-format", m, lang, phrase=m.group("fmt").lower())
    if hit := first("output-length"):
        m, lang = hit
        add("output-length", m, lang, limit=int(m.group("n")), unit=unit_of(m.group("unit")))
    if hit := first("output-language"):
        m, lang = hit
        code = lex.language_code(m.group("lang"))
        if code:
            add("output-language", m, lang, language=code, phrase=m.group("lang").lower())
    if kinds & {"output-format", "output-length", "output-language", "secret"}:
        return found
    if hit := first("allowed-topic"):
        m, lang = hit
        topics, terms = _topic_of(m.group("topic"), lex)
        if topics or terms:
            add("allowed-topic", m, lang, topics=topics, terms=terms, phrase=m.group("topic").strip()[:80])
            return found
    if hit := first("forbidden-topic"):
        m, lang = hit
        topics, terms = _topic_of(m.group("topic"), lex)
        if topics or terms:
            add("forbidden-topic", m, lang, topics=topics, terms=terms, phrase=m.group("topic").strip()[:80])
    return found
