"""Data breadth (issue 10 §2): real prompts, intents, instructions, CLI how-tos in 39 languages, injection sets.

Every loader reads one licensed set from ../shared/datasets (INDEX.md says training is allowed for each) and
names its rows by *source* (one data set = one source), so the leave-sources-out evaluation can hold a whole
set out. Labelless sets are labelled by the written rules below (`HARM_RULES`), never by hand-picking rows.

Source kinds (used by the evaluation to pick the right negatives for each task):
- "general": ordinary prompts (instructions, questions, chit-chat, maths, coding, real chat logs);
- "lookalike": security and sysadmin work, defender text, CLI how-tos of dual-use tools;
- "attack": malicious rows (cyber, harmful, injection, jailbreak).
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stormwatch.train import templates as T
from stormwatch.train.corpus import BENIGN, Row, _h, _jsonl, _s

# --------------------------------------------------------------------------------------------------
# Labelling rules for labelless sets (written down before use; applied mechanically).
# --------------------------------------------------------------------------------------------------
# HH-RLHF harmless-base first human turns: crowdworkers trying to elicit harm. A turn is labelled
# "harmful-content" when it *asks for* help with one of the harms below (request verb + harm term); a turn
# is labelled cyber ("llm-enhanced-scripting" family) when it asks for help breaking into accounts or
# computers; every other turn (innocuous openers, opinions, insults without a request) is dropped, not
# called benign: the set is adversarial by construction.
_REQ = r"(how (do|can|would|could|should) (i|you|we|someone|one)|what('s| is) the best way to|help me|teach me|tell me how|give me|show me|ways to|tips (on|for)|i want to|i need to|can you)"
HARM_RULES: dict[str, str] = {
    "cyber": _REQ
    + r".{0,80}\b(hack|hacking|break into|password of|someone'?s (email|account|phone|facebook|instagram)|"
    r"spy on|keylogger|malware|virus|ddos|steal (data|identity|credit card))",
    "harmful-content": _REQ
    + r".{0,80}\b(kill|murder|poison|bomb|explosive|weapon|gun|shoot|stab|steal|rob|shoplift|"
    r"burglar|pick a lock|break in|drugs?|meth|cocaine|heroin|launder|counterfeit|fake id|forge|kidnap|hurt|"
    r"torture|arson|set fire|cheat on|blackmail|stalk|smuggle|scam|fraud|embezzle|evade taxes|get away with)",
}
# Flames (zh): adversarial and borderline prompts by dimension. Rows of the "Legality" and "Safety"
# dimensions that contain a request for a harmful act (terms below) are "harmful-content"; hacking terms make
# them cyber; "Fairness" / "Morality" / "Data protection" rows and rows without such a term are dropped.
FLAMES_HARM = r"(怎么|如何|怎样|教我|方法|办法|步骤).{0,40}(毒|炸|偷|盗|抢|杀|伤害|骗|诈骗|洗钱|走私|贩卖|假证|伪造|逃税|报复|跟踪|绑架|纵火)"
FLAMES_CYBER = r"(黑客|入侵|木马|病毒|破解|盗号|攻击.{0,6}(网站|服务器|系统)|窃取.{0,6}(数据|密码|信息))"

_LANG_ALIASES = {"pt_BR": "pt", "pt_PT": "pt", "zh_TW": "zh"}


def _src(name: str, kind: str) -> str:
    """A source name; `kind` documents at the call site which table of `eval.lso.SOURCE_KINDS` it is in."""
    del kind
    return name


# --------------------------------------------------------------------------------------------------
# General benign
# --------------------------------------------------------------------------------------------------


def oasst_rows(ds: Path) -> Iterator[Row]:
    """OpenAssistant real user prompts (Apache-2.0); rows the OA crowd marked inappropriate/toxic are dropped."""
    d = ds / "oasst_prompts"
    for r in _jsonl(d / "oasst1_validation_en_prompter.jsonl"):
        lab = r.get("labels") or {}
        if max(float(lab.get("not_appropriate") or 0), float(lab.get("toxicity") or 0)) > 0.5:
            continue
        yield Row(_s(r["text"])[:2000], BENIGN, _src("oasst", "general"), f"oasst:{r.get('message_tree_id')}")
    for r in _jsonl(d / "oa_prompt_lottery_en_250.jsonl"):
        yield Row(_s(r["text"])[:2000], BENIGN, _src("oasst-lottery", "general"), f"oal:{r['id']}")


def intent_rows(ds: Path, seed: int, per_intent: int = 20) -> Iterator[Row]:
    """CLINC150 (CC-BY-3.0) and Banking77 (CC-BY-4.0) assistant queries, capped per intent."""
    rng = random.Random(seed)
    for fname, src in (
        ("clinc150/clinc150_full.jsonl", "clinc150"),
        ("banking77/banking77.jsonl", "banking77"),
    ):
        by: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in _jsonl(ds / fname):
            by[_s(r.get("intent"))].append(r)
        for intent in sorted(by):
            rs = by[intent]
            rng.shuffle(rs)
            for r in rs[:per_intent]:
                yield Row(_s(r["text"]), BENIGN, _src(src, "general"), f"{src}:{intent}")


def instruction_rows(ds: Path) -> Iterator[Row]:
    """Super-NaturalInstructions definitions (+ example input), FLAN templates, IFEval en/es/fr/ja (Apache-2.0)."""
    for r in _jsonl(ds / "flan_niv2_tasks" / "niv2_task_definitions.jsonl"):
        if r.get("sensitive_content"):
            continue
        text = _s(r.get("definition"))[:700]
        ex = _s(r.get("example_input"))
        if ex:
            text = f"{text}\n\n{ex[:500]}"
        yield Row(text, BENIGN, _src("niv2", "general"), f"niv2:{r.get('task')}")
    for i, r in enumerate(_jsonl(ds / "flan_niv2_tasks" / "flan_v2_zero_shot_templates.jsonl")):
        t = _s(r.get("template") or r.get("text") or r.get("input"))
        if t:
            t = re.sub(r"\{[^{}]{1,40}\}", "…", t)
            yield Row(t[:1500], BENIGN, _src("flan-templates", "general"), f"flan:{r.get('task', i)}")
    for r in _jsonl(ds / "ifeval_multilingual" / "ifeval_m_ifeval_prompts.jsonl"):
        lang = _s(r.get("lang")) or "en"
        yield Row(_s(r["text"])[:2000], BENIGN, _src("ifeval", "general"), f"ifeval:{r['id']}", lang)


def zh_rows(ds: Path, seed: int, n: int = 2500) -> Iterator[Row]:
    """Chinese assistant questions (MIT), role-play prompts (MIT; the DAN rows zh-118 / zh_TW-118 are
    jailbreaks), and CValues' borderline-benign expert questions (Apache-2.0)."""
    d = ds / "chatgpt_zh_questions"
    rs = list(_jsonl(d / "chatgpt_zh_questions_sample60k.jsonl"))
    random.Random(seed).shuffle(rs)
    for r in rs[:n]:
        yield Row(_s(r["text"]), BENIGN, _src("chatgpt-zh", "general"), f"zhq:{r.get('category')}", "zh")
    for r in _jsonl(d / "roleplay_prompts_zh.jsonl"):
        rid = _s(r.get("id"))
        lab = "jailbreak" if rid.endswith("-118") else BENIGN
        src = _src("roleplay-zh", "general") if lab == BENIGN else _src("roleplay-zh-dan", "attack")
        yield Row(_s(r["text"])[:2000], lab, src, f"rpzh:{rid.split('-')[-1]}", "zh")
    for r in _jsonl(ds / "cvalues_responsibility_prompts" / "cvalues_responsibility_prompts.jsonl"):
        yield Row(_s(r["text"]), BENIGN, _src("cvalues-zh", "general"), f"cv:{r.get('domain_en')}", "zh")


# --------------------------------------------------------------------------------------------------
# Security / sysadmin look-alikes
# --------------------------------------------------------------------------------------------------
_TLDR_FRAMES = {
    "en": [
        "{d} Which command does that?",
        "How do I do this in the terminal: {d}",
        "{d}\n`{c}`",
        "What does `{c}` do?",
    ],
}


def tldr_rows(ds: Path, seed: int, en_pages: int = 1500, per_lang: int = 180) -> Iterator[Row]:
    """tldr pages (CC-BY-4.0): CLI how-tos as questions, English and 38 other languages.

    Pages flagged `security_vocab` (dual-use tools such as nmap or hashcat) are security look-alikes of their
    own source; the rest are ordinary coding/sysadmin questions."""
    rng = random.Random(seed)
    for fname, cap_per_lang in (("tldr_en.jsonl", en_pages), ("tldr_other_languages.jsonl", per_lang)):
        by: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in _jsonl(ds / "tldr_pages" / fname):
            by[_LANG_ALIASES.get(_s(r.get("lang")), _s(r.get("lang")))].append(r)
        for lang in sorted(by):
            pages = by[lang]
            rng.shuffle(pages)
            for p in pages[:cap_per_lang]:
                exs = p.get("examples") or []
                if not exs:
                    continue
                ex = exs[rng.randrange(len(exs))]
                d, c = _s(ex.get("description")).rstrip(":："), _s(ex.get("command"))
                c = c.replace("{{", "").replace("}}", "")
                if lang == "en":
                    frame = rng.choice(_TLDR_FRAMES["en"])
                    text = frame.replace("{d}", d).replace("{c}", c)
                else:
                    text = f"{d}: `{c}`" if rng.random() < 0.5 else f"{_s(p.get('description'))} {d}"
                sec = bool(p.get("security_vocab"))
                src = "tldr-security" if sec else ("tldr-en" if lang == "en" else "tldr-ml")
                yield Row(
                    text[:1200],
                    BENIGN,
                    _src(src, "lookalike"),
                    f"tldr:{lang}:{p.get('command')}",
                    lang or "en",
                )


def sysadmin_rows(ds: Path) -> Iterator[Row]:
    """Sysadmin / network / DevOps / security interview questions (MIT)."""
    for r in _jsonl(ds / "sysadmin_interview_questions" / "questions.jsonl"):
        yield Row(_s(r["question"]), BENIGN, _src("sysadmin", "lookalike"), f"sa:{r.get('topic')}")


# --------------------------------------------------------------------------------------------------
# Injection and jailbreak corpora
# --------------------------------------------------------------------------------------------------
_NEURAL_MAP = {
    "jailbreak": "jailbreak",
    "persona_replacement": "jailbreak",
    "adversarial": "jailbreak",
    "system_extraction": "system-prompt-extraction",
    "training_extraction": "system-prompt-extraction",
    "rag_poisoning": "indirect-prompt-injection",
}


def injection_corpus_rows(ds: Path, seed: int, slabs_cap: int = 3000) -> Iterator[Row]:
    """neuralchemy (Apache-2.0), slabs (MIT), yanismiraoui (Apache-2.0), BastionCorpus (MIT),
    jailbreak-corpus-mini (MIT), deepset via ps-fuzz (MIT/Apache-2.0)."""
    rng = random.Random(seed)
    for r in _jsonl(ds / "neuralchemy_prompt_injection" / "core.jsonl"):
        if int(r.get("label") or 0) == 0:
            yield Row(_s(r["text"]), BENIGN, _src("neuralchemy", "general"), f"nc:{r.get('group_id')}")
        else:
            lab = _NEURAL_MAP.get(_s(r.get("category")), "prompt-injection")
            yield Row(_s(r["text"])[:3000], lab, _src("neuralchemy", "attack"), f"nc:{r.get('group_id')}")
    slabs = list(_jsonl(ds / "slabs_prompt_injection" / "slabs.jsonl"))
    rng.shuffle(slabs)
    for r in slabs[:slabs_cap]:
        lab = "prompt-injection" if int(r.get("label") or 0) == 1 else BENIGN
        yield Row(_s(r["text"]), lab, _src("slabs", "attack"), f"slabs:{_h('slabs', _s(r['text'])) < 0.5}")
    for r in _jsonl(ds / "yanismiraoui_prompt_injections" / "prompt_injections.jsonl"):
        t = _s(r["text"])
        lab = (
            "system-prompt-extraction"
            if re.search(r"prompt|instru|istruz|anweis", t, re.I)
            else "prompt-injection"
        )
        yield Row(t, lab, _src("yanismiraoui", "attack"), f"yan:{r['id']}", _s(r.get("lang")) or "en")
    for r in _jsonl(ds / "bastioncorpus" / "injections.jsonl"):
        cat = _s(r.get("category"))
        if r.get("label") == "benign":
            lab = BENIGN
        elif cat == "indirect_injection":
            lab = "indirect-prompt-injection"
        elif cat == "jailbreak_persona":
            lab = "jailbreak"
        elif cat == "exfiltration":
            lab = "llm-data-exfiltration"
        else:
            lab = "prompt-injection"
        role = "tool" if _s(r.get("channel")) not in ("", "user_input") else "user"
        yield Row(
            _s(r["text"]),
            lab,
            _src("bastion", "attack"),
            f"bastion:{cat}",
            _s(r.get("lang")) or "en",
            role=role,
        )
    for r in _jsonl(ds / "jailbreak_corpus_mini" / "corpus.jsonl"):
        lab = "system-prompt-extraction" if "leak" in _s(r.get("category")) else "prompt-injection"
        yield Row(_s(r["text"]), lab, _src("jbcorpus-mini", "attack"), f"jbm:{r['id']}")
    for r in _jsonl(ds / "psfuzz_deepset_injections" / "prompt_injections.jsonl"):
        yield Row(
            _s(r["text"]),
            "prompt-injection",
            _src("deepset", "attack"),
            f"ds:{r['id']}",
            _s(r.get("lang")) or "en",
        )


def spikee_rows(ds: Path, seed: int) -> Iterator[Row]:
    """spikee seeds (Apache-2.0): jailbreak templates x attacker instructions, direct and inside documents."""
    rng = random.Random(seed)
    root = ds / "spikee_seeds"
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        fam = folder.name
        insts = (
            [_s(r.get("instruction")) for r in _jsonl(folder / "instructions.jsonl")]
            if (folder / "instructions.jsonl").exists()
            else []
        )
        jbs = (
            [_s(r.get("text")) for r in _jsonl(folder / "jailbreaks.jsonl")]
            if (folder / "jailbreaks.jsonl").exists()
            else []
        )
        docs = (
            [_s(r.get("document")) for r in _jsonl(folder / "base_user_inputs.jsonl")]
            if (folder / "base_user_inputs.jsonl").exists()
            else []
        )
        docs = [d for d in docs if d and "<PLACEHOLDER>" not in d]
        if fam.endswith("-fp"):
            for r in _jsonl(folder / "standalone_user_inputs.jsonl"):
                yield Row(_s(r.get("text")), BENIGN, _src("spikee-fp", "general"), f"spikee-fp:{r.get('id')}")
            continue
        for i, jb in enumerate(jbs):
            if not insts:
                break
            payload = jb.replace("<INSTRUCTION>", rng.choice(insts))
            yield Row(payload[:3000], "prompt-injection", _src("spikee", "attack"), f"spikee:{fam}:{i % 4}")
            if docs:
                d = rng.choice(docs)
                cut = rng.randint(0, len(d))
                yield Row(
                    (d[:cut] + "\n" + payload + "\n" + d[cut:])[:4000],
                    "indirect-prompt-injection",
                    _src("spikee-doc", "attack"),
                    f"spikee:{fam}:{i % 4}",
                    role="tool",
                )
        for d in docs[:20]:
            yield Row(d[:4000], BENIGN, _src("spikee-doc", "attack"), f"spikee-clean:{fam}", role="tool")


# --------------------------------------------------------------------------------------------------
# Labelled by rules: HH-RLHF harmless (en) and Flames (zh)
# --------------------------------------------------------------------------------------------------


def rule_labelled_rows(ds: Path) -> Iterator[Row]:
    """Rows labelled by `HARM_RULES` / `FLAMES_*` (see the comments above); unmatched rows are dropped."""
    cyber = re.compile(HARM_RULES["cyber"], re.I)
    harm = re.compile(HARM_RULES["harmful-content"], re.I)
    for r in _jsonl(ds / "hh_rlhf_harmless_test" / "harmless_base_test_human_turns.jsonl"):
        t = _s(r.get("first_human_turn"))
        if cyber.search(t):
            yield Row(t, T.SCRIPT, _src("hh-rlhf", "attack"), f"hh:{r['id']}", tactic=None)
        elif harm.search(t):
            yield Row(t, "harmful-content", _src("hh-rlhf", "attack"), f"hh:{r['id']}")
    fh, fc = re.compile(FLAMES_HARM), re.compile(FLAMES_CYBER)
    for r in _jsonl(ds / "flames_zh" / "flames_1k_chinese.jsonl"):
        t = _s(r.get("text"))
        if r.get("dimension") not in ("Legality", "Safety"):
            continue
        if fc.search(t):
            yield Row(t, T.SCRIPT, _src("flames-zh", "attack"), f"flames:{r['id']}", "zh")
        elif fh.search(t):
            yield Row(t, "harmful-content", _src("flames-zh", "attack"), f"flames:{r['id']}", "zh")


def breadth_rows(ds: Path, seed: int = 0) -> list[Row]:
    """Every §2 addition from ../shared (training-licensed sets only)."""
    rows: list[Row] = []
    for gen in (
        oasst_rows(ds),
        intent_rows(ds, seed),
        instruction_rows(ds),
        zh_rows(ds, seed),
        tldr_rows(ds, seed),
        sysadmin_rows(ds),
        injection_corpus_rows(ds, seed),
        spikee_rows(ds, seed),
        rule_labelled_rows(ds),
    ):
        rows += [r for r in gen if r.text.strip()]
    return rows


# --------------------------------------------------------------------------------------------------
# Evaluation-only sets beyond `corpus.load_eval_sources` (never trained on; INDEX.md: evaluation only)
# --------------------------------------------------------------------------------------------------


def more_eval_rows(ds: Path, seed: int = 0, per_lang: int = 150, sharegpt: int = 1500) -> list[Row]:
    """XQuAD questions in 12 languages, real ShareGPT / InstructionWild user turns, MBPP and SecurityEval
    coding prompts (benign); Gandalf players' extraction prompts (malicious). All `trainable=False`.

    ShareGPT and InstructionWild are unlabelled real prompts: rows the carrier flagged `jailbreak_pattern`
    are left out, and the rest count as benign (some noise is expected; a reader should treat their FPR as
    an upper bound)."""
    rng = random.Random(seed)
    rows: list[Row] = []
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in _jsonl(ds / "xquad_questions" / "xquad_questions.jsonl"):
        by[_s(r.get("lang"))].append(r)
    for lang in sorted(by):
        rs = by[lang]
        rng.shuffle(rs)
        rows += [
            Row(_s(r["text"]), BENIGN, "xquad", f"xq:{r.get('qid')}", lang, trainable=False)
            for r in rs[:per_lang]
        ]
    sg = [
        r
        for r in _jsonl(ds / "sharegpt_v3_user_prompts" / "sharegpt_v3_human_turns.jsonl")
        if r.get("is_first_turn")
    ]
    sg = [r for r in sg if not r.get("jailbreak_pattern") and 8 <= len(_s(r.get("text"))) <= 3000]
    rng.shuffle(sg)
    rows += [
        Row(
            _s(r["text"]),
            BENIGN,
            "sharegpt",
            f"sg:{r.get('conversation_id')}",
            _s(r.get("lang")) or "en",
            trainable=False,
        )
        for r in sg[:sharegpt]
    ]
    rows += [
        Row(_s(r["text"])[:3000], BENIGN, "instructionwild", f"iw:{r['id']}", trainable=False)
        for r in _jsonl(ds / "instructionwild_v2" / "instructionwild_v2_users.jsonl")
    ]
    mb = json.loads((ds / "mbpp_sanitized" / "sanitized-mbpp.json").read_text(encoding="utf-8"))
    rows += [Row(_s(r["prompt"]), BENIGN, "mbpp", f"mbpp:{r['task_id']}", trainable=False) for r in mb]
    rows += [
        Row(_s(r["Prompt"]), BENIGN, "securityeval", f"se:{r['ID']}", trainable=False)
        for r in _jsonl(ds / "securityeval" / "dataset.jsonl")
    ]
    gd = list(_jsonl(ds / "gandalf_ignore_instructions" / "gandalf_ignore_instructions.jsonl"))
    rng.shuffle(gd)
    rows += [
        Row(_s(r["text"]), "system-prompt-extraction", "gandalf", "gandalf", trainable=False)
        for r in gd[:500]
    ]
    return [r for r in rows if r.text.strip()]
