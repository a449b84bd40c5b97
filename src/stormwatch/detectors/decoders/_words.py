"""A tiny common-English word list, used to tell whether a decoding reads more like English."""

from __future__ import annotations

import codecs

# Everyday function words and verbs, plus the vocabulary prompt attacks are written in. Small on purpose:
# it only has to tell "reads like English" from "does not", cheaply.
_COMMON = """
a about above access account accounts act acting action actually add admin administrator after again against
age ago agent ai all allow allowed almost alone along already also always am among an and another answer
answers any anyone anything api are area around art as ask assistant at attack attacker available away back
bad base be because become been before begin behind being below best better between beyond big bit body
bomb both boy bring build business but buy by call came can cannot car care case cause censor censored
certain change character chat check child children city clear code come command commands company
computer confidential constraints content context control copy could country course create credential
credentials current data day dead deal death decode deep delete describe detail details developer did
different disable disabled disregard do document does doing done door down download drug during each
early earlier easy either else email enable enabled encode end enough enter even ever every everything
evil example execute exploit eye face fact family far father feel few file files filter filters find
first five follow following food for forget form format forward found four free friend from full game
gave get girl give given go going good got government great group guide guidelines had hack hacker hacking
hand happen hard has have he head hear heard hello help her here hidden high him his history hold home
hope hour house how however human i idea if ignore image important in include information input inside
instead instruction instructions internal into is issue it its itself job just keep key keylogger kill kind
knew know known large last late later law lead learn leave leet left less let letter level life light
like line link list little live local long look lost lot love low made main make malware man many market
markdown may me mean means member message messages might mind mode model money month more morning most
mother move much must my name need network never new news next night no none not note nothing now number
of off offer office often old on once one only open or order other others our out output over override
own page paper part party password passwords past pay payload people per person phone place plan play
please point policy possible post power pretend previous print prior private problem program prompt
prompts provide public put question quite ransomware rather read ready real really reason remember reply
report respond response restriction restrictions result reveal right room root rule rules run safe safety
said same say school script second secret secrets security see seem send sent server set shall she shell
should show side since small so social some someone something sometimes soon sorry start state stay
steal still stop story study such sudo sure system take talk task team tell text than thank thanks that
the their them themselves then there these they thing things think this those though thought three
through time to today together token tokens told too tool top toward true truth try turn two under
understand unfiltered unless until up upload upon us use used user users very virus visit voice wait
want war was watch water way we weapon week well went were what when where whether which while who whole
why will window with within without woman word words work world would write writing wrong year yes yet you
young your yourself
"""

# Real words whose ROT13 or reversal is in the list above; kept out of the "looks encoded" sets.
_ALSO_ENGLISH = "bar era fur gel emit nap peek pot pots raw reward saw spot stressed ton trap tub won yap"


WORDS: frozenset[str] = frozenset(_COMMON.split())
_KNOWN: frozenset[str] = WORDS | frozenset(_ALSO_ENGLISH.split())

# Words whose ROT13 or reversal is itself a common word would make ordinary prose look encoded.
_ROT13_HITS = {codecs.encode(w, "rot13") for w in WORDS if len(w) >= 3} - _KNOWN
_REVERSED_HITS = {w[::-1] for w in WORDS if len(w) >= 3} - _KNOWN

WORDS_BYTES: frozenset[bytes] = frozenset(w.encode("ascii") for w in WORDS)
ROT13_HITS_BYTES: frozenset[bytes] = frozenset(w.encode("ascii") for w in _ROT13_HITS)
REVERSED_HITS_BYTES: frozenset[bytes] = frozenset(w.encode("ascii") for w in _REVERSED_HITS)

# Lower-cases ASCII letters and turns every other byte into a space, so `.split()` yields letter runs.
_LETTERS_ONLY = bytes(
    (b + 32 if 65 <= b <= 90 else b) if (65 <= b <= 90 or 97 <= b <= 122) else 32 for b in range(256)
)


def ascii_letter_runs(shadow: bytes) -> list[bytes]:
    """Lower-cased runs of ASCII letters in an ASCII shadow of a text; fast, no regex."""
    return shadow.translate(_LETTERS_ONLY).split()
