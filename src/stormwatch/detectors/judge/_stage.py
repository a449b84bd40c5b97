"""The judge stage: ask an OpenAI-compatible safety model about events whose risk is in the uncertain band.

How its answer combines with the engine's verdict (the stage runs after every other detector):

- It is consulted only when `band_low <= risk < band_high`; risk 0 (no finding at all) is never sent.
- A violation adds a finding `detector="judge"` with the judge's category and `score = confidence`; the
  policy then re-decides, so the risk rises by noisy-OR and may leave the band (flag or block).
- No violation lowers: every other finding's score is multiplied by `f = 1 - c · (1 - band_low / risk)`
  (c = the judge's confidence) and the policy re-decides. For the noisy-OR policy the new risk lies in
  `[band_low, risk]`: the judge can pull an uncertain event down to the band's floor, never below it.
- Over budget, a timeout, an HTTP error or a malformed answer leaves the verdict exactly as it was; each is
  counted in `stats` (and reported to `on_outcome`), never raised.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from stormwatch.detectors.judge._config import JudgeConfig
from stormwatch.detectors.judge._parse import (
    GENERIC_CATEGORY,
    AnswerError,
    JudgeAnswer,
    clean_text,
    parse_answer,
)
from stormwatch.detectors.judge._policy import JudgePolicy
from stormwatch.detectors.judge._prompt import cache_key, request_body
from stormwatch.models import Event, Evidence, Finding, Verdict

JUDGE_ID = "judge"
#: Re-decides an event from a findings list (the engine's `decide`).
Decide = Callable[[Event, list[Finding]], Verdict]
#: Called once per event the judge was consulted on, with its outcome (see `OUTCOMES`).
OutcomeHook = Callable[[str], None]
OUTCOMES = (
    "raised",
    "lowered",
    "kept",
    "over_budget",
    "error_timeout",
    "error_transport",
    "error_http",
    "error_too_large",
    "error_malformed",
    "error_internal",
)
_RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class JudgeStats:
    """Counters of one judge: what was seen, sent, answered, skipped and failed."""

    seen: int = 0
    in_band: int = 0
    calls: int = 0
    cache_hits: int = 0
    answers: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    last_error: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain counters (for run summaries and hunt stats)."""
        return {
            "seen": self.seen,
            "in_band": self.in_band,
            "calls": self.calls,
            "cache_hits": self.cache_hits,
            "answers": self.answers,
            **{k: self.outcomes.get(k, 0) for k in OUTCOMES},
        }

    def errors(self) -> int:
        """Events the judge was meant to answer but could not (budget excluded)."""
        return sum(v for k, v in self.outcomes.items() if k.startswith("error_"))


class _CallFailed(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class _Budget:
    """At most `limit` calls in any sliding 60 s window of the injected clock."""

    def __init__(self, limit: int, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.clock = clock
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> bool:
        with self._lock:
            now = self.clock()
            while self._times and now - self._times[0] >= 60.0:
                self._times.popleft()
            if len(self._times) >= self.limit:
                return False
            self._times.append(now)
            return True


class Judge:
    """The optional judge stage: a policy, a safety model behind an OpenAI-compatible API, a cache, a budget.

    One instance per process; it holds an HTTP connection pool (call `close`, or use it as a context manager).
    `transport`, `clock` and `sleep` are injectable for tests.
    """

    def __init__(
        self,
        config: JudgeConfig,
        *,
        policy: JudgePolicy | None = None,
        categories: Collection[str] | None = None,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_outcome: OutcomeHook | None = None,
    ) -> None:
        self.config = config
        self.policy = policy if policy is not None else JudgePolicy.load(config.policy_path)
        if categories is None:
            from stormwatch.kb.taxonomy import load_taxonomy

            categories = load_taxonomy().slugs()
        self.categories = frozenset(categories)
        self.on_outcome = on_outcome
        self.stats = JudgeStats()
        self._sleep = sleep
        self._budget = _Budget(config.max_calls_per_minute, clock)
        self._cache: OrderedDict[str, JudgeAnswer] = OrderedDict()
        self._lock = threading.Lock()
        headers = {"accept": "application/json"}
        if config.api_key is not None:
            headers["authorization"] = f"Bearer {config.api_key.get_secret_value()}"
        self._client = httpx.Client(
            transport=transport,
            headers=headers,
            timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            follow_redirects=False,
            trust_env=False,
        )

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    # -- the stage ------------------------------------------------------------------------------
    def review(self, event: Event, verdict: Verdict, decide: Decide) -> Verdict:
        """The verdict after the judge (unchanged when out of band, over budget or on error)."""
        return self.review_batch([event], [verdict], decide)[0]

    def review_batch(
        self, events: Sequence[Event], verdicts: Sequence[Verdict], decide: Decide
    ) -> list[Verdict]:
        """Verdicts after the judge, in input order; only events whose risk is in the band are sent."""
        out = list(verdicts)
        wanted: list[tuple[int, str]] = []
        for i, (ev, v) in enumerate(zip(events, verdicts, strict=True)):
            if not self.config.in_band(v.risk) or any(f.detector == JUDGE_ID for f in v.findings):
                continue
            wanted.append((i, cache_key(ev.turns(), self.policy, self.config)))
        with self._lock:
            self.stats.seen += len(out)
            self.stats.in_band += len(wanted)
        if not wanted:
            return out
        answers, failures = self._answers(events, wanted)
        for i, key in wanted:
            answer = answers.get(key)
            if answer is None:
                self._count(failures.get(key, "over_budget"))
                continue
            out[i], outcome = self._apply(events[i], verdicts[i], answer, decide)
            self._count(outcome)
        return out

    def _answers(
        self, events: Sequence[Event], wanted: list[tuple[int, str]]
    ) -> tuple[dict[str, JudgeAnswer], dict[str, str]]:
        """Answers by cache key: from the cache, else one call per distinct key while the budget lasts."""
        answers: dict[str, JudgeAnswer] = {}
        failures: dict[str, str] = {}
        to_call: dict[str, Event] = {}
        hits = 0
        for i, key in wanted:
            if key in answers or key in to_call or key in failures:
                if key in answers or key in to_call:
                    hits += 1  # the same conversation twice in a batch: one call serves both
                continue
            hit = self._cache_get(key)
            if hit is not None:
                hits += 1
                answers[key] = hit
            elif self._budget.acquire():
                to_call[key] = events[i]
            else:
                failures[key] = "over_budget"
        with self._lock:
            self.stats.cache_hits += hits
        if not to_call:
            return answers, failures
        workers = min(self.config.max_concurrency, len(to_call))
        if workers == 1:
            results = [self._ask(ev) for ev in to_call.values()]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="stormwatch-judge") as pool:
                results = list(pool.map(self._ask, to_call.values()))
        for key, res in zip(to_call, results, strict=True):
            if isinstance(res, JudgeAnswer):
                answers[key] = res
                self._cache_put(key, res)
            else:
                failures[key] = res
        return answers, failures

    def _apply(
        self, event: Event, verdict: Verdict, answer: JudgeAnswer, decide: Decide
    ) -> tuple[Verdict, str]:
        cfg = self.config
        c = answer.confidence
        act = cfg.may_raise if answer.violation else cfg.may_lower
        category = self._category(answer, verdict) if answer.violation else None
        judged = "violation" if answer.violation else "no violation"
        what = f"{judged} ({category})" if category else judged
        rationale = answer.rationale or "(no rationale)"
        score = c if answer.violation and act else 0.0
        finding = Finding(
            detector=JUDGE_ID,
            rule="violation" if answer.violation else "no-violation",
            score=score,
            # a score-0 finding with a category would list that category in the verdict: name it in words only
            category=category if score > 0 else None,
            evidence=(
                Evidence(turn=_judged_turn(event), start=0, end=0, text=f"{cfg.model}: {rationale}"[:400]),
            ),
            explanation=(
                f"judge {clean_text(cfg.model, 80)} (policy {self.policy.version}): {what}, "
                f"confidence {c:.2f}{'' if act else ' (advisory: not applied)'}: {rationale}"
            ),
        )
        if not act:
            return decide(event, [*verdict.findings, finding]), "kept"
        if answer.violation:
            return decide(event, [*verdict.findings, finding]), "raised"
        factor = 1.0 - c * (1.0 - cfg.band_low / verdict.risk)
        damped = [_damp(f, factor) for f in verdict.findings]
        return decide(event, [*damped, finding]), "lowered"

    def _category(self, answer: JudgeAnswer, verdict: Verdict) -> str:
        # A category the model could not name (or only named generically, as plain guard answers do) is
        # taken from what the engine already saw; the engine's categories are taxonomy slugs.
        if answer.category is not None and not (
            answer.form == "plain" and answer.category == GENERIC_CATEGORY
        ):
            return answer.category
        if verdict.categories:
            return verdict.categories[0]
        return answer.category or GENERIC_CATEGORY

    # -- one call -------------------------------------------------------------------------------
    def _ask(self, event: Event) -> JudgeAnswer | str:
        """One judged conversation: the answer, or the kind of failure (retries bounded by config and budget)."""
        body = orjson.dumps(request_body(event.turns(), self.policy, self.config, self.categories))
        attempt = 0
        while True:
            try:
                return self._call(body)
            except _CallFailed as exc:
                self._note_error(exc)
                retryable = exc.kind in ("timeout", "transport", "retryable_http")
                if not retryable or attempt >= self.config.max_retries or not self._budget.acquire():
                    return "error_http" if exc.kind == "retryable_http" else f"error_{exc.kind}"
            except Exception as exc:  # a broken transport or server library must never lose the scan
                self._note_error(_CallFailed("internal", type(exc).__name__))
                return "error_internal"
            attempt += 1
            self._sleep(self.config.retry_backoff_s * attempt)

    def _call(self, body: bytes) -> JudgeAnswer:
        with self._lock:
            self.stats.calls += 1
        cfg = self.config
        try:
            with self._client.stream(
                "POST", cfg.chat_url(), content=body, headers={"content-type": "application/json"}
            ) as resp:
                if resp.status_code != 200:
                    kind = "retryable_http" if resp.status_code in _RETRYABLE_STATUS else "http"
                    raise _CallFailed(kind, f"HTTP {resp.status_code}")
                raw = bytearray()
                for chunk in resp.iter_bytes():
                    raw += chunk
                    if len(raw) > cfg.max_answer_bytes:
                        raise _CallFailed("too_large", f"answer over {cfg.max_answer_bytes} bytes")
        except httpx.TimeoutException as exc:
            raise _CallFailed("timeout", f"{type(exc).__name__} after {cfg.timeout_s:g} s") from exc
        except httpx.HTTPError as exc:  # connection refused, reset, protocol errors
            raise _CallFailed("transport", type(exc).__name__) from exc
        content = _message_content(bytes(raw))
        try:
            answer = parse_answer(
                content,
                categories=self.categories,
                max_rationale_chars=cfg.max_rationale_chars,
                plain_confidence=cfg.plain_confidence,
            )
        except AnswerError as exc:
            raise _CallFailed("malformed", exc.reason) from exc
        with self._lock:
            self.stats.answers += 1
        return answer

    # -- bookkeeping ----------------------------------------------------------------------------
    def _cache_get(self, key: str) -> JudgeAnswer | None:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def _cache_put(self, key: str, answer: JudgeAnswer) -> None:
        if self.config.cache_size <= 0:
            return
        with self._lock:
            self._cache[key] = answer
            self._cache.move_to_end(key)
            while len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)

    def _note_error(self, exc: _CallFailed) -> None:
        with self._lock:
            self.stats.last_error = f"{exc.kind}: {exc.detail}"

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.stats.outcomes[outcome] += 1
        if self.on_outcome is not None:
            self.on_outcome(outcome)


def _message_content(raw: bytes) -> str:
    """The assistant text of a chat-completions response body."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _CallFailed("malformed", "response body is not JSON") from exc
    try:
        message = doc["choices"][0]["message"]
        content = message.get("content")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise _CallFailed("malformed", "no choices[0].message in the response") from exc
    if isinstance(content, list):  # content parts
        content = "".join(
            p.get("text", "") for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    if not isinstance(content, str) or not content.strip():
        raise _CallFailed("malformed", "the answer has no text content")
    return content


def _judged_turn(event: Event) -> int:
    """The turn a judge finding points at: the last user turn, else the last turn."""
    turns = event.turns()
    for i in range(len(turns) - 1, -1, -1):
        if turns[i].role == "user":
            return i
    return max(0, len(turns) - 1)


def _damp(f: Finding, factor: float) -> Finding:
    if f.error or f.score == 0.0:
        return f
    return f.model_copy(
        update={
            "score": f.score * factor,
            "explanation": f"{f.explanation} [judge: score {f.score:.2f} × {factor:.2f}]",
        }
    )
