"""The optional judge stage: a local safety model behind an OpenAI-compatible API decides the uncertain band.

Off by default. A caller builds a `JudgeConfig`, a `Judge` from it, and hands the judge to the engine
(`Engine(..., judge=judge)`); see docs/judge.md for running a model with Ollama or vLLM.
"""

from stormwatch.detectors.judge._config import JudgeConfig, PromptStyle, ResponseFormat
from stormwatch.detectors.judge._parse import AnswerError, JudgeAnswer, answer_schema, parse_answer
from stormwatch.detectors.judge._policy import DEFAULT_POLICY_PATH, JudgePolicy
from stormwatch.detectors.judge._stage import JUDGE_ID, OUTCOMES, Decide, Judge, JudgeStats, OutcomeHook

__all__ = [
    "DEFAULT_POLICY_PATH",
    "JUDGE_ID",
    "OUTCOMES",
    "AnswerError",
    "Decide",
    "Judge",
    "JudgeAnswer",
    "JudgeConfig",
    "JudgePolicy",
    "JudgeStats",
    "OutcomeHook",
    "PromptStyle",
    "ResponseFormat",
    "answer_schema",
    "parse_answer",
]
