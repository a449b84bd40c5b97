"""The traffic simulator: benign users and threat operations, day by day, deterministic for a seed."""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from stormwatch.simulate._content import (
    ANSWERS,
    BENIGN,
    BENIGN_I18N,
    BROWSER_UAS,
    HEAVY_SWAPS,
    MODELS,
    OPERATIONS,
    PREFIXES,
    PRETEXTS,
    REFUSALS,
    SDK_UAS,
    SLOTS,
    SUFFIXES,
    Act,
    Operation,
)
from stormwatch.simulate._landscape import Landscape

Evasion = Literal["normal", "heavy"]
BENIGN_LABEL = "benign"
MAX_OP_ACCOUNTS: dict[str, int] = {"normal": 8, "heavy": 10}
_SLOT = re.compile(r"\{(\w+)\}")
_BENIGN_KINDS = [("coder", 30), ("student", 20), ("writer", 12), ("business", 12), ("defender", 10),
                 ("tinkerer", 6), ("i18n", 10)]  # fmt: skip
_TZ = [(-8, 10), (-5, 16), (-3, 6), (0, 12), (1, 14), (2, 6), (3, 5), (5.5, 8), (8, 10), (9, 8)]
_TZ_LANG = {-3: "pt", 1: "de", 2: "fr", 3: "ru", 8: "zh", 9: "ko", 5.5: "en", 0: "es", -5: "es", -8: "es"}


@dataclass(frozen=True)
class SimConfig:
    """What to simulate: size, span, seed, and how hard the operations try to hide."""

    accounts: int = 500
    days: int = 30
    seed: int = 0
    evasion: Evasion = "normal"
    rate: float = 3.5  # mean events per active benign account-day
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    landscape: bool = (
        False  # add the 2025-26 operations and their benign look-alikes (simulate/_landscape.py)
    )


@dataclass
class _Account:
    id: str
    label: str  # operation actor name or "benign"
    kind: str
    utc_offset: float
    rng: random.Random
    rate: float
    ips: list[str]
    ua: str
    org: str | None = None
    op: Operation | None = None
    first_day: int = 0
    last_day: int = 10**6
    lang: str = "en"
    meta: dict[str, str] = field(default_factory=dict)
    api_key: str = ""


def _h(*parts: object, n: int = 12) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:n]


def _fill(template: str, slots: dict[str, list[str]], rng: random.Random) -> str:
    def pick(m: re.Match[str]) -> str:
        name = m.group(1)
        values = slots.get(name) or SLOTS.get(name)
        return rng.choice(values) if values else m.group(0)

    return _SLOT.sub(pick, template)


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    total = sum(w for _, w in pairs)
    x = rng.uniform(0, total)
    for item, w in pairs:
        x -= w
        if x <= 0:
            return item
    return pairs[-1][0]


class Simulator:
    """Builds the population once, then yields events in time order, one day at a time."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.rng = random.Random(f"stormwatch-sim:{config.seed}:{config.evasion}")
        self.accounts: list[_Account] = []
        self._vpn = [f"185.220.{self.rng.randrange(96, 104)}.{self.rng.randrange(2, 250)}" for _ in range(30)]
        self._plan()
        self.landscape = Landscape(config.seed, config.days, config.start) if config.landscape else None

    # -- population --------------------------------------------------------------------------------
    def _plan(self) -> None:
        cfg, rng = self.config, self.rng
        heavy = cfg.evasion == "heavy"
        per_op = max(3, round(cfg.accounts * (0.012 if heavy else 0.008)))
        # an operation rotates through a handful of accounts, not a fixed share of a platform's users: a
        # bigger population means more ordinary users around the same operations
        per_op = min(per_op, max(3, cfg.accounts // 12), MAX_OP_ACCOUNTS[cfg.evasion])
        n_benign = max(0, cfg.accounts - per_op * len(OPERATIONS))
        self._plan_orgs(n_benign)
        for i in range(n_benign):
            self.accounts.append(self._benign(i))
        for op in OPERATIONS:
            self._plan_operation(op, per_op)
        rng.shuffle(self.accounts)

    def _plan_orgs(self, n_benign: int) -> None:
        rng = self.rng
        self._orgs: list[dict[str, Any]] = []
        budget = int(n_benign * 0.35)
        k = 0
        while budget > 0:
            size = min(budget, rng.randint(3, 30))
            soc = k == 0  # the first company is a security operations centre: the shared-NAT trap
            org = {
                "id": f"org-{_h(self.config.seed, 'org', k, n=8)}",
                "nat": [
                    f"{rng.randrange(20, 90)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(2, 250)}"
                    for _ in range(rng.choice((1, 1, 2)))
                ],
                "ua": rng.choice(BROWSER_UAS),
                "billing": _h("billing", self.config.seed, k),
                "size": size,
                "soc": soc,
                "tz": _weighted(rng, _TZ),
            }
            self._orgs.append(org)
            budget -= size
            k += 1
        self._org_slots = [org for org in self._orgs for _ in range(org["size"])]

    def _benign(self, i: int) -> _Account:
        rng, cfg = self.rng, self.config
        acc_rng = random.Random(f"{cfg.seed}:b:{i}")
        org = self._org_slots[i] if i < len(self._org_slots) else None
        kind = "defender" if org and org["soc"] else _weighted(rng, _BENIGN_KINDS)
        tz = org["tz"] if org else _weighted(rng, _TZ)
        if org:
            ips, ua = list(org["nat"]), org["ua"]
        else:
            base = f"{rng.randrange(60, 220)}.{rng.randrange(256)}.{rng.randrange(256)}"
            ips = [f"{base}.{rng.randrange(2, 250)}" for _ in range(rng.randint(1, 3))]
            if rng.random() < 0.1:
                ips.append(rng.choice(self._vpn))
            ua = rng.choice(BROWSER_UAS + SDK_UAS if kind in ("coder", "tinkerer") else BROWSER_UAS)
        acc = _Account(
            id=f"acct-{_h(cfg.seed, 'acct', i, n=10)}",
            label=BENIGN_LABEL,
            kind=kind,
            utc_offset=tz,
            rng=acc_rng,
            rate=cfg.rate * math.exp(rng.gauss(0, 0.6)) / math.exp(0.18),
            ips=ips,
            ua=ua,
            org=org["id"] if org else None,
            lang=_TZ_LANG.get(tz, "en") if kind == "i18n" else "en",
            meta={"email_domain_hash": _h("mail", rng.choice(("gmail", "outlook", "proton", "yahoo")))},
        )
        acc.meta["email_hash"] = _h("email", acc.id)
        acc.meta["payment_hash"] = org["billing"] if org else _h("card", acc.id)
        acc.api_key = f"key-{_h('key', acc.id, n=10)}"
        return acc

    def _plan_operation(self, op: Operation, n: int) -> None:
        cfg, rng = self.config, self.rng
        heavy = cfg.evasion == "heavy"
        subnets = [f"{rng.randrange(45, 200)}.{rng.randrange(256)}.{rng.randrange(256)}" for _ in range(3)]
        hosts = {s: [f"{s}.{rng.randrange(2, 250)}" for _ in range(4)] for s in subnets}
        payments = [_h("pay", op.key, cfg.seed, j) for j in range(2)]
        op_domain = _h("mail", op.key, cfg.seed)
        ua = rng.choice(SDK_UAS)
        span = max(1, cfg.days)
        window = max(3, int(span * (1.6 if not heavy else 1.2) / max(1, n) * 2))
        for j in range(n):
            start = int(j * max(0, span - window) / max(1, n - 1)) if n > 1 else 0
            sub = subnets[min(len(subnets) - 1, j * len(subnets) // n)]
            prev = subnets[max(0, j * len(subnets) // n - 1)]
            ips = list(hosts[sub][:3]) + ([hosts[prev][3]] if rng.random() < 0.5 else [])
            acc = _Account(
                id=f"acct-{_h(cfg.seed, 'op', op.key, j, n=10)}",
                label=op.actor,
                kind=f"op:{op.key}",
                utc_offset=op.utc_offset,
                rng=random.Random(f"{cfg.seed}:{op.key}:{j}:{cfg.evasion}"),
                rate=(1.8 if heavy else 3.0) * math.exp(rng.gauss(0, 0.3)),
                ips=ips,
                ua=ua if rng.random() < 0.7 else rng.choice(BROWSER_UAS),
                op=op,
                first_day=start,
                last_day=start + window,
            )
            shared_pay = (not heavy) or rng.random() < 0.5
            acc.meta = {
                "email_hash": _h("email", acc.id),
                "email_domain_hash": op_domain if not heavy else _h("mail", rng.choice(("gmail", "outlook"))),
                "payment_hash": rng.choice(payments) if shared_pay else _h("card", acc.id),
            }
            acc.api_key = f"key-{_h('key', acc.id, n=10)}"
            self.accounts.append(acc)

    # -- traffic -----------------------------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        """Ground truth: account → actor (or benign), benign kinds, and each operation's accounts."""
        ops: dict[str, dict[str, Any]] = {}
        for a in sorted(self.accounts, key=lambda a: a.id):
            if a.op is not None:
                ops.setdefault(a.op.key, {"actor": a.op.actor, "accounts": []})["accounts"].append(a.id)
        accounts = {a.id: a.label for a in sorted(self.accounts, key=lambda a: a.id)}
        kinds = {a.id: a.kind for a in sorted(self.accounts, key=lambda a: a.id)}
        if self.landscape is not None:
            extra = self.landscape.truth()
            accounts = dict(sorted({**accounts, **extra["accounts"]}.items()))
            kinds = dict(sorted({**kinds, **extra["kinds"]}.items()))
            ops.update(extra["operations"])
        return {
            "seed": self.config.seed,
            "evasion": self.config.evasion,
            "accounts": accounts,
            "kinds": kinds,
            "operations": ops,
        }

    def events(self) -> Iterator[dict[str, Any]]:
        """Every event as a JSON-ready dict (the ingest JSONL full form), in time order."""
        n = 0
        pending: list[dict[str, Any]] = []
        for day in range(self.config.days + 1):
            if day < self.config.days:
                for acc in self.accounts:
                    pending.extend(self._day(acc, day))
                if self.landscape is not None:
                    pending.extend(self.landscape.day(day))
                # a local day spans UTC (d - 14h, d + 1d + 12h): earlier events are final once day d is made
                cutoff = (self.config.start + timedelta(days=day + 1, hours=-14)).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                )
            else:
                cutoff = "9999"
            pending.sort(key=lambda e: (e["timestamp"], e["account_id"]))
            k = 0
            while k < len(pending) and pending[k]["timestamp"] < cutoff:
                k += 1
            ready, pending = pending[:k], pending[k:]
            for e in ready:
                e["id"] = f"sim{self.config.seed}-{n:09d}"
                n += 1
                yield e

    def _day(self, acc: _Account, day: int) -> list[dict[str, Any]]:
        rng = acc.rng
        if acc.op is not None:
            if not acc.first_day <= day <= acc.last_day or rng.random() < 0.25:
                return []
        elif rng.random() < 0.35:
            return []
        count = min(60, int(rng.expovariate(1 / acc.rate)) + 1)
        sessions = [f"s-{_h(acc.id, day, k, n=10)}" for k in range(1 + count // 4)]
        day0 = self.config.start + timedelta(days=day)
        out: list[dict[str, Any]] = []
        for _ in range(count):
            local_hour = min(23.99, max(0.0, rng.gauss(13.5, 2.8)))
            ts = day0 + timedelta(hours=local_hour - acc.utc_offset, seconds=rng.randrange(60))
            session = rng.choice(sessions)
            out.extend(self._interaction(acc, ts, session))
        return out

    def _interaction(self, acc: _Account, ts: datetime, session: str) -> list[dict[str, Any]]:
        rng = acc.rng
        heavy = self.config.evasion == "heavy"
        if acc.op is None or rng.random() < 0.12:  # operations also send ordinary cover traffic
            prompt, lang, harmful = self._benign_prompt(acc)
        else:
            act = self._pick_act(acc.op, rng, heavy)
            prompt, lang, harmful = self._act_prompt(acc.op, act, rng, heavy), act.lang, act.harmful
        events = [self._event(acc, ts, session, prompt, lang, harmful)]
        if acc.op is not None and events[0]["_refused"] and rng.random() < 0.8:
            # retry after refusal: rephrase with a pretext a few minutes later, same session
            act = self._pick_act(acc.op, rng, heavy, harmful_only=True, lang=lang)
            pre = rng.choice(PRETEXTS.get(lang, PRETEXTS["en"]))
            retry = pre + self._act_prompt(acc.op, act, rng, heavy)
            events.append(
                self._event(acc, ts + timedelta(minutes=rng.randint(1, 9)), session, retry, lang, True)
            )
        for e in events:
            del e["_refused"]
        return events

    @staticmethod
    def _pick_act(op: Operation, rng: random.Random, heavy: bool, *, harmful_only: bool = False,
                  lang: str | None = None) -> Act:  # fmt: skip
        acts = [a for a in op.acts if (a.harmful or not harmful_only)]
        foreign = [a for a in acts if a.lang != "en"]
        p_foreign = 0.4 if heavy else 0.25
        if lang is not None and lang != "en":
            pool = [a for a in foreign if a.lang == lang] or acts
        elif foreign and rng.random() < p_foreign:
            pool = foreign
        else:
            pool = [a for a in acts if a.lang == "en"] or acts
        return rng.choice(pool)

    @staticmethod
    def _act_prompt(op: Operation, act: Act, rng: random.Random, heavy: bool) -> str:
        text = _fill(rng.choice(act.phrasings), op.slots, rng)
        if act.lang == "en":
            if heavy:
                for src, dst in HEAVY_SWAPS.items():
                    if src in text and rng.random() < 0.5:
                        text = text.replace(src, dst, 1)
            text = rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)
        return text

    @staticmethod
    def _benign_prompt(acc: _Account) -> tuple[str, str, bool]:
        rng = acc.rng
        if acc.lang != "en" and rng.random() < 0.7:
            return _fill(rng.choice(BENIGN_I18N[acc.lang]), {}, rng), acc.lang, False
        kind = acc.kind if acc.kind in BENIGN else "coder"
        template = rng.choice(rng.choice(BENIGN[kind]))
        text = rng.choice(PREFIXES) + _fill(template, {}, rng) + rng.choice(SUFFIXES)
        harmful = kind == "tinkerer" and ("Ignore" in template or "rules" in template or "DAN" in template)
        return text, "en", harmful

    def _event(self, acc: _Account, ts: datetime, session: str, prompt: str, lang: str, harmful: bool) -> dict[str, Any]:  # fmt: skip
        rng = acc.rng
        refused = harmful and rng.random() < 0.55
        response = rng.choice(REFUSALS.get(lang, REFUSALS["en"])) if refused else rng.choice(ANSWERS)
        if acc.op is not None and rng.random() < (0.45 if self.config.evasion == "heavy" else 0.2):
            ip = rng.choice(self._vpn)  # commercial VPN exits shared with ordinary users
        else:
            ip = rng.choice(acc.ips)
        return {
            "id": "",
            "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "account_id": acc.id,
            "org_id": acc.org,
            "session_id": session,
            "source_ip": ip,
            "user_agent": acc.ua,
            "api_key_id": acc.api_key,
            "model": rng.choice(MODELS),
            "messages": [{"role": "user", "content": prompt}],
            "response": response,
            "metadata": dict(acc.meta),
            "_refused": refused,
        }


def simulate(config: SimConfig) -> tuple[Iterator[dict[str, Any]], dict[str, Any]]:
    """The events (a time-ordered iterator of JSON-ready dicts) and the ground truth of one simulation."""
    sim = Simulator(config)
    return sim.events(), sim.truth()


def write_simulation(config: SimConfig, out: Path, truth_path: Path | None = None) -> int:
    """Write the events as JSONL (optionally the truth as JSON); returns the number of events."""
    events, truth = simulate(config)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    with out.open("w", encoding="utf-8") as fh:
        for e in events:
            fh.write(dumps(e))
            fh.write("\n")
            n += 1
    if truth_path is not None:
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        truth_path.write_text(json.dumps(truth, indent=1, sort_keys=True), encoding="utf-8")
    return n
