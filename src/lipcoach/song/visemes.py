"""Visemes: the mouth shape of every phone, from a documented table (docs/visemes.md).

Ten classes (the ``viseme`` enum of the song map schema), chosen for what a lip-sync coach
and a camera can tell apart on a singer's face:

========== ===================================== ==========================================
class      phones (ARPAbet)                      mouth
========== ===================================== ==========================================
rest       silence, noise, breath                lips at rest / relaxed
closed     M B P                                 lips pressed together
lip_teeth  F V                                   lower lip against the upper teeth
rounded    W UW UH OW OY R                       lips rounded and pushed forward
open       AA AE AH AO AW AY                     jaw dropped, mouth open
mid        EH ER EY                              half-open jaw, neutral lips
spread     IY IH Y                               lips spread, teeth close
tongue_teeth TH DH                               tongue tip between the teeth
teeth      S Z SH ZH CH JH T D N L               teeth nearly closed, tongue behind them
back       K G NG HH                             shape taken from the neighbouring vowel
========== ===================================== ==========================================

Choices with reasons:

* **R → rounded.** American /r/ is made with the lips protruded and rounded (most visibly
  at the start of a word: "run", "red"); viseme sets used in animation (Preston Blair,
  Disney) and in audio-visual speech (Jeffers & Barley) group it with W.
* **ER → mid.** The r-coloured vowel keeps some rounding, but when sung and held the jaw is
  half open, and that is what the camera sees; it sits with EH/EY.
* **AO, AW, AY → open.** Their opening (AO "thought", the first part of AW/AY) is the
  widest jaw of the syllable; the glide at the end is short.
* **OY → rounded.** It starts on a rounded OW-like vowel.
* **SH ZH CH JH → teeth.** They are also slightly protruded, but the teeth are what shows;
  the schema has no separate class for them.
* **HH → back.** /h/ has no shape of its own: the mouth already takes the next vowel's
  shape, like K/G/NG whose closure is out of sight.
"""

from __future__ import annotations

from typing import Optional

#: The schema's viseme classes, in a stable order.
VISEMES = ("rest", "closed", "lip_teeth", "rounded", "open", "mid", "spread", "tongue_teeth", "teeth", "back")

#: ARPAbet phone (no stress digit) → viseme class.
PHONE_TO_VISEME: dict[str, str] = {
    **{p: "closed" for p in ("M", "B", "P")},
    **{p: "lip_teeth" for p in ("F", "V")},
    **{p: "rounded" for p in ("W", "UW", "UH", "OW", "OY", "R")},
    **{p: "open" for p in ("AA", "AE", "AH", "AO", "AW", "AY")},
    **{p: "mid" for p in ("EH", "ER", "EY")},
    **{p: "spread" for p in ("IY", "IH", "Y")},
    **{p: "tongue_teeth" for p in ("TH", "DH")},
    **{p: "teeth" for p in ("S", "Z", "SH", "ZH", "CH", "JH", "T", "D", "N", "L")},
    **{p: "back" for p in ("K", "G", "NG", "HH")},
    # PocketSphinx's silence and filler phones
    **{p: "rest" for p in ("SIL", "+NSN+", "+SPN+", "+BREATH+", "+NOISE+")},
}

#: The four mouth-shape icons of the practice page, per viseme class. Only shapes an actor
#: must hit exactly (and an audience catches when missed) get an icon; the rest show none.
PRACTICE_ICON: dict[str, Optional[str]] = {
    "closed": "closed",
    "lip_teeth": "f-v",
    "rounded": "rounded",
    "open": "open",
    "mid": "open",  # a half-open jaw is coached as "open": the mistake to catch is a closed mouth
    "spread": None,
    "tongue_teeth": None,
    "teeth": None,
    "back": None,
    "rest": None,
}


def viseme_of(phone: str) -> str:
    """Viseme class of an ARPAbet phone.

    Stress digits are ignored ("AA1" = "AA"); silence, fillers and unknown symbols are
    "rest".

    >>> viseme_of("M"), viseme_of("uw1"), viseme_of("SIL")
    ('closed', 'rounded', 'rest')
    """
    key = phone.strip().upper()
    if not key.startswith("+"):
        key = key.rstrip("012")
    return PHONE_TO_VISEME.get(key, "rest")


def practice_icon(viseme: str) -> Optional[str]:
    """Practice-page icon ("closed", "f-v", "rounded", "open") of a viseme class, or None."""
    return PRACTICE_ICON.get(viseme)
