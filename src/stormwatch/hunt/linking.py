"""Link suspicious accounts (shared infrastructure, near-duplicate prompts, TTPs, timing) and cluster them.

Every edge keeps its reasons. Shared values are weighted by how specific they are to suspicious accounts:
an IP, organisation or user agent used by many accounts, most of them benign (a corporate NAT, a VPN exit,
a popular browser) carries almost no weight, so benign accounts never cluster on it.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from stormwatch.hunt.analytics import AccountProfile
from stormwatch.hunt.text import shingles
from stormwatch.models import Link
from stormwatch.store.schema import EventRow

INFRA_BASE: dict[str, float] = {
    "api_key_id": 1.0,
    "payment_hash": 1.0,
    "card_hash": 1.0,
    "billing_hash": 1.0,
    "email_hash": 1.0,
    "phone_hash": 1.0,
    "device_id": 0.9,
    "ip": 0.7,
    "email_domain_hash": 0.45,
    "org": 0.45,
    "net": 0.35,
    "user_agent": 0.2,
}
# kinds that, between accounts of one declared organisation, describe the organisation, not a person
ORG_SHARED = frozenset({"ip", "net", "user_agent", "payment_hash", "billing_hash", "card_hash",
                        "email_domain_hash"})  # fmt: skip
MAX_SHARED = 40  # a value shared by more suspicious accounts than this is not an identifier
# a prompt copied by more suspicious accounts than this is a circulating template (a public jailbreak),
# not an operation's own wording
MAX_CONTENT_GROUP = 10


@dataclass(frozen=True)
class LinkConfig:
    """Weights and thresholds of the account graph (defaults measured in benchmarks/hunt.py)."""

    strong: float = 0.75  # an edge at least this heavy joins two accounts into one cluster
    hard_min: float = 0.3  # ... and it needs this much infrastructure or content evidence
    content_weight: float = 0.9
    content_norm: float = 1.5
    lsh_threshold: float = 0.5
    num_perm: int = 64
    ttp_weight: float = 0.25
    time_weight: float = 0.1
    family_min: float = 0.2  # an evidence family counts as agreeing from this weight on
    content_strong: float = 0.45  # distinctive shared wording that needs only some other support ...
    content_support: float = 0.03  # ... this much network or identity evidence
    min_suspicion: float = 0.35  # core accounts: suspicious enough to seed a cluster on their own
    # weak accounts (a flagged event or two among ordinary traffic) link like pivots, through their prompts;
    # a cluster without a core account needs this many accounts that tripped a detector
    weak_suspicion: float = 0.2
    min_weak_cluster: int = 2
    min_flagged: int = 2  # flagged events (or one block) that make an account worth analysing
    # pivot: accounts sharing a specific value (used by at most `pivot_max_shared` accounts) with a linkable
    # account are analysed too, and join a cluster only through near-duplicate prompts (`pivot_content`)
    pivot_max_shared: int = 12
    pivot_min_flagged: int = 0
    pivot_content: float = 0.3
    # a prompt is common phrasing when ordinary traffic of at least this many accounts sent near-duplicates
    common_accounts: int = 4
    background_sample: int = 20000  # prompts of other accounts that define "common phrasing"


@dataclass
class PairEvidence:
    """Accumulated evidence between two accounts."""

    infra: dict[str, tuple[float, str]] = field(default_factory=dict)  # kind → (weight, reason)
    content: float = 0.0
    content_examples: list[str] = field(default_factory=list)
    content_groups: int = 0  # distinct near-duplicate prompt groups the two accounts share
    pivot: bool = False  # one side is a pivot account (reached through infrastructure, weakly flagged)
    ttp: float = 0.0
    time: float = 0.0

    def infra_weight(self) -> float:
        """Strongest shared value plus a damped share of the others (NAT, org and billing move together)."""
        ws = sorted((w for w, _ in self.infra.values()), reverse=True)
        return ws[0] + 0.3 * sum(ws[1:]) if ws else 0.0

    def total(self, cfg: LinkConfig) -> float:
        """The edge weight."""
        return self.infra_weight() + self.content + self.ttp + self.time

    def hard(self) -> float:
        """Infrastructure and content evidence only (timing and TTP similarity are supporting evidence)."""
        return self.infra_weight() + self.content

    def families(self) -> dict[str, float]:
        """Evidence by independent family: identity, network, organisation, client and content.

        When the two accounts share a declared organisation, its NAT, its billing and its mail domain are
        the organisation's, not a person's: they fold into the one `org` family.
        """
        fam = {"identity": 0.0, "network": 0.0, "org": 0.0, "client": 0.0, "content": self.content}
        same_org = "org" in self.infra
        for kind, (w, _) in self.infra.items():
            key = {"ip": "network", "net": "network", "org": "org", "user_agent": "client"}.get(
                kind, "identity"
            )
            if same_org and kind in ORG_SHARED:
                key = "org"
            fam[key] = max(fam[key], w)
        return fam

    def corroborated(self, cfg: LinkConfig) -> bool:
        """A shared personal identity (key, card, e-mail), two independent families agreeing, or distinctive
        wording repeated across several prompts backed by some shared network or identity: one VPN exit,
        one company's network and billing, or one circulating prompt never links accounts on its own."""
        fam = self.families()
        if "org" in self.infra:
            # colleagues of one declared organisation share its network, its billing and often their tasks
            # and wording; only a personal identifier links them
            return fam["identity"] >= 0.5
        if fam["identity"] >= 0.5 or sum(1 for w in fam.values() if w >= cfg.family_min) >= 2:
            return True
        # similar TTPs and hours are weak: a detector that over-flags one language makes a whole language
        # community look alike; wording needs some shared network or identity behind it
        support = max(fam["network"], fam["identity"])
        return (
            self.content >= cfg.content_strong and self.content_groups >= 2 and support >= cfg.content_support
        )


def specificity(n_accounts: int, n_suspicious: int) -> float:
    """How much sharing a value means: near 1 for a value used only by a few suspicious accounts."""
    if n_accounts <= 1 or n_suspicious <= 1:
        return 0.0
    frac = n_suspicious / n_accounts
    # an operation shares a value among a handful of accounts at a time; a value shared by dozens is a
    # NAT, a VPN exit, a billing account or a popular client, whoever uses it
    return frac * frac * min(1.0, 3.0 / (n_accounts - 1))


def _infra_values(rows: Iterable[EventRow]) -> dict[str, set[tuple[str, str]]]:
    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in rows:
        s = out[r.account_id]
        for kind, v in (("ip", r.source_ip), ("net", r.net), ("user_agent", r.user_agent),
                        ("api_key_id", r.api_key_id), ("org", r.org_id)):  # fmt: skip
            if v:
                s.add((kind, v))
        for k in r.link_keys:
            s.add((k.kind, k.value))
    return out


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    dot = sum(v * b.get(k, 0.0) for k, v in a.items())
    na = math.sqrt(sum(v * v for v in a.values()))
    nb = math.sqrt(sum(v * v for v in b.values()))
    return dot / (na * nb) if na and nb else 0.0


def prompt_groups(
    prompts_by_account: Mapping[str, Sequence[str]],
    *,
    threshold: float = 0.5,
    num_perm: int = 64,
    background: Sequence[str | tuple[str, int]] = (),
    common_accounts: int = 1,
) -> list[tuple[set[str], str]]:
    """Near-duplicate prompt groups (MinHash LSH) spanning two or more accounts: (accounts, example).

    Prompts with near-duplicates sent by at least `common_accounts` accounts of `background` (a sample of
    ordinary traffic: prompts, or (prompt, accounts that sent it)) are common phrasing, not a fingerprint,
    and are left out. Counting accounts rather than any single hit keeps an operation's own wording when a
    few of its accounts were never flagged and so sit in the background.
    """
    from datasketch import MinHash, MinHashLSH

    owners: dict[str, set[str]] = defaultdict(set)
    for acc, prompts in prompts_by_account.items():
        for p in prompts:
            owners[p.strip()[:2000]].add(acc)

    template = MinHash(num_perm=num_perm, seed=7)

    def minhash(text: str) -> MinHash | None:
        sh = shingles(text)
        if len(sh) < 3:
            return None
        m = MinHash(num_perm=num_perm, seed=7, permutations=template.permutations, scheme=template.scheme)
        m.update_batch([s.encode("utf-8") for s in sorted(sh)])
        return m

    weight: dict[str, int] = {}
    for item in background:
        text, n = (item, common_accounts) if isinstance(item, str) else item
        key = text.strip()[:2000]
        if key not in owners:
            weight[key] = weight.get(key, 0) + n
    common = MinHashLSH(threshold=threshold, num_perm=num_perm)
    bg_weight: dict[str, int] = {}
    for i, t in enumerate(sorted(weight)):
        bm = minhash(t)
        if bm is not None:
            common.insert(f"b{i}", bm)
            bg_weight[f"b{i}"] = weight[t]
    # a prompt near-identical to what many ordinary accounts send is common phrasing: it links nobody
    texts: list[str] = []
    hashes: list[MinHash] = []
    for t in sorted(t for t in owners if t and len(owners[t]) <= MAX_CONTENT_GROUP * 4):
        m = minhash(t)
        if m is None or sum(bg_weight[k] for k in common.query(m)) >= common_accounts:
            continue
        texts.append(t)
        hashes.append(m)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for i, m in enumerate(hashes):
        lsh.insert(str(i), m)
    edges = [
        (i, j)
        for i, m in enumerate(hashes)
        for j in (int(key) for key in lsh.query(m))
        if j != i and m.jaccard(hashes[j]) >= threshold
    ]
    # one group per component, in order of its first text, which is also its example
    groups: dict[int, tuple[set[str], str]] = {}
    for i, label in enumerate(_components(len(texts), edges)):
        accs, _example = groups.setdefault(label, (set(), texts[i]))
        accs.update(owners[texts[i]])
    return [g for g in groups.values() if len(g[0]) >= 2]


def _components(n: int, edges: Sequence[tuple[int, int]]) -> list[int]:
    """Connected-component label of each of `n` nodes under undirected `edges` (scipy.sparse.csgraph)."""
    if n == 0:
        return []
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows = np.fromiter((i for i, _ in edges), dtype=np.int64, count=len(edges))
    cols = np.fromiter((j for _, j in edges), dtype=np.int64, count=len(edges))
    graph = coo_matrix((np.ones(len(edges), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return [int(x) for x in labels]


def link_accounts(
    profiles: Mapping[str, AccountProfile],
    rows: Sequence[EventRow],
    infra_usage: Mapping[tuple[str, str], tuple[int, int]],
    cfg: LinkConfig | None = None,
    *,
    background: Sequence[str | tuple[str, int]] = (),
    pivots: Collection[str] = (),
) -> dict[tuple[str, str], PairEvidence]:
    """Evidence for every pair of linkable accounts (suspicious enough, or `pivots`) that share something."""
    cfg = cfg or LinkConfig()
    core = {a for a, p in profiles.items() if p.suspicion >= cfg.min_suspicion}
    linkable = core | (set(pivots) & set(profiles))
    pairs: dict[tuple[str, str], PairEvidence] = defaultdict(PairEvidence)
    # shared infrastructure
    by_value: dict[tuple[str, str], list[str]] = defaultdict(list)
    for acc, values in _infra_values(r for r in rows if r.account_id in linkable).items():
        for kv in values:
            if kv in infra_usage:
                by_value[kv].append(acc)
    for (kind, value), accs in by_value.items():
        n, ns = infra_usage[(kind, value)]
        if len(accs) < 2 or len(accs) > MAX_SHARED:
            continue
        w = INFRA_BASE.get(kind, 0.5) * specificity(n, ns)
        if w < 0.01:
            continue
        shown = value if len(value) <= 40 else value[:37] + "..."
        reason = f"shared {kind} {shown} ({ns} suspicious of {n} accounts using it)"
        for a, b in combinations(sorted(accs), 2):
            ev = pairs[(a, b)]
            if w > ev.infra.get(kind, (0.0, ""))[0]:
                ev.infra[kind] = (round(w, 4), reason)
    # near-duplicate prompts
    prompts: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r.account_id in linkable and r.prompt:
            prompts[r.account_id].append(r.prompt)
    for members, example in prompt_groups(
        prompts,
        threshold=cfg.lsh_threshold,
        num_perm=cfg.num_perm,
        background=background,
        common_accounts=cfg.common_accounts,
    ):
        if len(members) > MAX_CONTENT_GROUP:
            continue
        idf = 1.0 / (len(members) - 1)
        for a, b in combinations(sorted(members), 2):
            ev = pairs[(a, b)]
            ev.content += idf
            ev.content_groups += 1
            if len(ev.content_examples) < 3:
                ev.content_examples.append(example[:120])
    for (a, b), ev in pairs.items():
        ev.content = round(cfg.content_weight * min(1.0, ev.content / cfg.content_norm), 4)
        ev.pivot = a not in core or b not in core
    # supporting evidence, only between pairs that already share something
    for (a, b), ev in pairs.items():
        pa, pb = profiles[a], profiles[b]
        cos = _cosine(
            {k: float(v) for k, v in pa.categories.items()}, {k: float(v) for k, v in pb.categories.items()}
        )
        ev.ttp = round(cfg.ttp_weight * cos, 4) if cos >= 0.6 else 0.0
        hcos = _cosine({str(i): float(c) for i, c in enumerate(pa.active_hours_utc)},
                       {str(i): float(c) for i, c in enumerate(pb.active_hours_utc)})  # fmt: skip
        ev.time = round(cfg.time_weight * hcos, 4) if hcos >= 0.8 else 0.0
    return dict(pairs)


def links_of(pairs: Mapping[tuple[str, str], PairEvidence]) -> list[Link]:
    """Every piece of pair evidence as a `Link` with its reason (one per kind)."""
    out: list[Link] = []
    for (a, b), ev in sorted(pairs.items()):
        for kind, (w, reason) in sorted(ev.infra.items()):
            out.append(Link(a=a, b=b, kind=f"infra:{kind}", weight=w, reason=reason))
        if ev.content:
            ex = "; ".join(f"“{x}”" for x in ev.content_examples[:2])
            out.append(
                Link(a=a, b=b, kind="content", weight=ev.content, reason=f"near-duplicate prompts, e.g. {ex}")
            )
        if ev.ttp:
            out.append(
                Link(a=a, b=b, kind="ttp-profile", weight=ev.ttp, reason="matching LLM-TTP category profiles")
            )
        if ev.time:
            out.append(Link(a=a, b=b, kind="co-activity", weight=ev.time, reason="same active hours (UTC)"))
    return out


def cluster_accounts(
    profiles: Mapping[str, AccountProfile],
    pairs: Mapping[tuple[str, str], PairEvidence],
    cfg: LinkConfig | None = None,
    *,
    min_singleton_blocks: int = 1000,
) -> list[list[str]]:
    """Connected components over strong edges; clusters of two or more accounts, largest first."""
    cfg = cfg or LinkConfig()
    names = sorted(profiles)
    index = {a: i for i, a in enumerate(names)}
    edges = []
    for (a, b), ev in sorted(pairs.items()):
        if ev.pivot and ev.content < cfg.pivot_content:
            continue  # a pivot account joins only through its prompts, never through infrastructure alone
        if ev.total(cfg) >= cfg.strong and ev.hard() >= cfg.hard_min and ev.corroborated(cfg):
            edges.append((index[a], index[b]))
    comps: dict[int, list[str]] = defaultdict(list)
    for a, label in zip(names, _components(len(names), edges), strict=True):
        comps[label].append(a)
    core = {a for a, p in profiles.items() if p.suspicion >= cfg.min_suspicion}

    def keep(c: list[str]) -> bool:
        if any(a in core for a in c):
            return len(c) >= 2 or profiles[c[0]].blocked >= min_singleton_blocks
        return sum(1 for a in c if profiles[a].flagged > 0) >= cfg.min_weak_cluster

    out = [sorted(c) for c in comps.values() if keep(c)]
    return sorted(out, key=lambda c: (-len(c), c[0]))


def designation_for(anchor: str, taken: set[str]) -> str:
    """A deterministic `Storm-####` from the cluster's anchor account, unique among `taken`."""
    n = int.from_bytes(hashlib.sha256(f"stormwatch:{anchor}".encode()).digest()[:4], "big") % 10000
    for step in range(10000):
        name = f"Storm-{(n + step) % 10000:04d}"
        if name not in taken:
            return name
    raise RuntimeError("no free designation")  # pragma: no cover - 10,000 clusters


def designate(clusters: Sequence[Sequence[str]], previous: Mapping[str, str] | None = None) -> list[str]:
    """Designations for clusters, reusing an earlier one when a member carried it, else hashed."""
    previous = previous or {}
    taken: set[str] = set()
    out: list[str | None] = [None] * len(clusters)
    order = sorted(range(len(clusters)), key=lambda i: (-len(clusters[i]), min(clusters[i])))
    for i in order:
        votes: dict[str, int] = defaultdict(int)
        for a in clusters[i]:
            if a in previous:
                votes[previous[a]] += 1
        for name, _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])):
            if name not in taken:
                out[i] = name
                taken.add(name)
                break
    for i in order:
        if out[i] is None:
            name = designation_for(min(clusters[i]), taken)
            out[i] = name
            taken.add(name)
    return [str(x) for x in out]
