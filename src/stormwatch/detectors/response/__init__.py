"""Answer screening: detectors that read the model's answer (`Event.response`), not the request.

- `response-leakage`: the answer repeats the system/developer prompt, an operator canary or a secret the
  system prompt names.
- `response-jailbreak`: the answer announces a "no rules" persona (DAN Mode enabled, as an unfiltered AI).
- `response-malware`: the answer carries working malware behaviours (keylogging, browser/LSASS credential
  theft, persistence, ransomware, reverse shells, C2 beacons, AMSI/Defender tampering), rules as data.
- `response-phishing`: the answer is a finished phishing or fraud message.
"""

from stormwatch.detectors.response._answer import ANSWER_CONTEXT_KEY
from stormwatch.detectors.response.detector import (
    ResponseJailbreak,
    ResponseLeakage,
    ResponseMalware,
    ResponsePhishing,
)

__all__ = [
    "ANSWER_CONTEXT_KEY",
    "ResponseJailbreak",
    "ResponseLeakage",
    "ResponseMalware",
    "ResponsePhishing",
]
