"""Grapheme to phoneme: lyric words to the phones of PocketSphinx's en-us acoustic model.

PocketSphinx ships only an English (en-us) acoustic model, whose 39 phones are the CMU
dictionary's ARPAbet set without stress digits. Every language is therefore spelled in those
phones:

* English: the CMU dictionary that ships inside the pocketsphinx wheel (all its variants,
  e.g. "don't" = D OW N T | D OW N); words it lacks go through eSpeak NG.
* Any other language eSpeak NG speaks (French, Spanish, German, ...): eSpeak's IPA mapped to
  the nearest en-us phones with :data:`IPA_TO_ARPABET`. Where two en-us phones are about as
  close (French nasal vowels with or without a nasal murmur, the Spanish tap as a flap ``D``
  or an ``R``, French ``ɥ`` as ``Y`` or ``W``), the table lists both and
  :func:`word_pronunciations` offers the combinations as alternative pronunciations, so that
  the aligner picks whichever fits the singer.

Phone strings are lists of ARPAbet symbols such as ``["HH", "AH", "L", "OW"]``.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from pathlib import Path

from lipcoach.errors import LipcoachError
from lipcoach.formats.lyrics import align_form

#: The 39 phones of the CMU dictionary / PocketSphinx en-us model (no stress digits).
ARPABET = (
    "AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH"
).split()

#: eSpeak IPA symbol → en-us phones. Each value is a tuple of alternatives (each a
#: space-separated phone string, "" = no phone); the first is the preferred one. Choices:
#:
#: * Front rounded vowels keep their lip rounding, because lipcoach cares about the mouth
#:   shape: ``y`` (French "lune") → UW (American /u/ is fronted, so it is also the nearest
#:   sound), ``ʏ`` → UH, ``ø``/``œ`` → ER (mid, central, slightly rounded) with OW/EH as alternatives.
#: * Nasal vowels → the oral vowel plus N, or the bare vowel (the murmur comes and goes in singing).
#: * ``ʁ``/``ʀ`` (French/German uvular r) → R, or HH (it is often a fricative); trilled ``r`` → R;
#:   tap ``ɾ`` → R or D (German writes its r after consonants as ``ɾ``; the Spanish tap, a
#:   flap like American "better", prefers D, see :data:`LANGUAGE_OVERRIDES`).
#: * ``x``/``χ`` (German "Buch", Spanish "jamás") → HH or K; ``ç`` (German "ich") → HH or SH.
#: * Affricates without an English counterpart are split: ``ts`` → T S, ``pf`` → P F.
#: * Palatals: ``ɲ`` → N Y, ``ʎ`` → L Y or Y (Spanish yeísmo), ``ɥ`` → Y or W, ``ʝ`` → Y.
#: * Spanish lenited stops: ``β`` → B or V, ``ð`` → DH, ``ɣ`` → G.
#: * The glottal stop has no phone in the model and is dropped.
IPA_TO_ARPABET: dict[str, tuple[str, ...]] = {
    # affricates and clusters first (longest match wins)
    "tʃ": ("CH",), "dʒ": ("JH",), "ts": ("T S",), "dz": ("D Z",), "pf": ("P F",), "tɕ": ("CH",), "dʑ": ("JH",),
    # diphthongs
    "aɪ": ("AY",), "aʊ": ("AW",), "ɔɪ": ("OY",), "ɔʏ": ("OY",), "eɪ": ("EY",), "oʊ": ("OW",), "əʊ": ("OW",),
    "aɪə": ("AY ER", "AY AH"), "ɪə": ("IH R", "IH AH"), "eə": ("EH R",), "ʊə": ("UH R",), "aʊə": ("AW ER",),
    # nasal vowels (French): vowel + combining tilde
    "ɑ̃": ("AA N", "AA"), "ɛ̃": ("EH N", "EH"), "ɔ̃": ("OW N", "OW"), "œ̃": ("AH N", "EH N"), "õ": ("OW N", "OW"),
    "ã": ("AA N", "AA"), "ẽ": ("EY N", "EH N"), "ĩ": ("IY N",), "ũ": ("UW N",),
    # vowels
    "a": ("AA",), "ɑ": ("AA",), "æ": ("AE",), "ɐ": ("AH",), "ʌ": ("AH",), "ə": ("AH",), "ɚ": ("ER",), "ɝ": ("ER",),
    "ɜ": ("ER",), "ɛ": ("EH",), "e": ("EY", "EH"), "ɪ": ("IH",), "ᵻ": ("IH",), "ɨ": ("IH",), "i": ("IY",),
    "o": ("OW",), "ɔ": ("AO",), "ɒ": ("AA",), "ʊ": ("UH",), "u": ("UW",), "ɯ": ("UW",), "ɤ": ("OW",),
    "y": ("UW", "IY"), "ʏ": ("UH", "IH"), "ø": ("ER", "OW"), "œ": ("ER", "EH"), "ɵ": ("ER",), "ɞ": ("ER",),
    # consonants
    "p": ("P",), "b": ("B",), "t": ("T",), "d": ("D",), "k": ("K",), "g": ("G",), "ɡ": ("G",), "c": ("K",), "ɟ": ("G",),
    "m": ("M",), "ɱ": ("M",), "n": ("N",), "ŋ": ("NG",), "ɲ": ("N Y",), "ɴ": ("NG",),
    "f": ("F",), "v": ("V",), "θ": ("TH",), "ð": ("DH",), "s": ("S",), "z": ("Z",), "ʃ": ("SH",), "ʒ": ("ZH",),
    "ɕ": ("SH",), "ʑ": ("ZH",), "ç": ("HH", "SH"), "x": ("HH", "K"), "χ": ("HH", "K"), "ɣ": ("G",), "β": ("B", "V"),
    "h": ("HH",), "ɦ": ("HH",), "ʔ": ("",),
    "l": ("L",), "ɫ": ("L",), "ɬ": ("L",), "ʎ": ("L Y", "Y"), "ɭ": ("L",),
    "ɹ": ("R",), "ɻ": ("R",), "r": ("R",), "ɾ": ("R", "D"), "ʁ": ("R", "HH"), "ʀ": ("R",),
    "j": ("Y",), "ʝ": ("Y",), "w": ("W",), "ʍ": ("W",), "ɥ": ("Y", "W"),
}

#: Per-language overrides of :data:`IPA_TO_ARPABET`.
LANGUAGE_OVERRIDES: dict[str, dict[str, tuple[str, ...]]] = {
    # eSpeak's "es" voice is Castilian; most sung Spanish (and all of it in Latin America)
    # says "corazón" with S (seseo), so S comes first.
    "es": {"θ": ("S", "TH"), "ɾ": ("D", "R"), "r": ("R", "D")},
    # An English flap is a D for the CMU dictionary ("better" = B EH D ER in speech).
    "en": {"ɾ": ("D", "T")},
}

#: Marks eSpeak writes that carry no phone: stress, length, syllable breaks, ties, diacritics.
_IGNORED = set("ˈˌːˑ.‿͡-_|'") | {"\u0329", "\u032a", "\u0325", "\u032f", "\u0306", "\u0361", "\u035c", "\u02de"}

#: Language names accepted besides codes (JamendoLyrics' metadata says "French").
LANGUAGE_NAMES = {
    "english": "en", "french": "fr", "spanish": "es", "german": "de", "italian": "it",
    "portuguese": "pt", "dutch": "nl",
}

_MAX_VARIANTS = 4

#: French elided clitics in IPA, for colloquial elisions before a consonant ("qu'je",
#: "j'suis") that eSpeak otherwise reads letter by letter in English.
FRENCH_CLITICS = {
    "qu": "k", "j": "ʒ", "m": "m", "t": "t", "l": "l", "d": "d", "n": "n", "s": "s", "c": "s",
    "jusqu": "ʒysk", "lorsqu": "lɔʁsk", "puisqu": "pɥisk", "quoiqu": "kwak",
}

_SWITCH = re.compile(r"\([a-z-]+\)")


def normalize_language(language: str) -> str:
    """ISO 639-1 code (or eSpeak voice name) for ``language``; names such as "French" accepted."""
    key = (language or "").strip().lower().replace("_", "-")
    return LANGUAGE_NAMES.get(key, key)


def check_language(language: str) -> str:
    """Return the normalised language, or raise LipcoachError when no G2P exists for it."""
    from lipcoach.media import espeak

    lang = normalize_language(language)
    if not lang:
        raise LipcoachError(None, "no language given")
    if lang.split("-")[0] == "en" or espeak.has_language(lang):
        return lang
    raise LipcoachError(None, f"unknown language {language!r}: eSpeak NG has no voice for it, so its words cannot be phonemised")


@functools.lru_cache(maxsize=1)
def cmudict() -> dict[str, list[list[str]]]:
    """The CMU dictionary shipped with pocketsphinx: word → list of pronunciations."""
    import pocketsphinx

    path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
    entries: dict[str, list[list[str]]] = {}
    with open(path, encoding="utf-8") as handle:
        for row in handle:
            parts = row.split()
            if len(parts) < 2:
                continue
            word = parts[0]
            if word.endswith(")") and "(" in word:
                word = word[: word.index("(")]
            entries.setdefault(word, []).append([p.rstrip("012") for p in parts[1:]])
    return entries


def _table(language: str) -> dict[str, tuple[str, ...]]:
    base = language.split("-")[0]
    return {**IPA_TO_ARPABET, **LANGUAGE_OVERRIDES.get(base, {})}


@functools.lru_cache(maxsize=8)
def _sorted_keys(language: str) -> tuple[str, ...]:
    return tuple(sorted(_table(language), key=len, reverse=True))


def ipa_to_arpabet(ipa: str, language: str = "en") -> list[list[str]]:
    """Map an IPA string to en-us phones.

    Returns
    -------
    slots : list of list of str
        One entry per IPA segment: its alternative phone strings (first = preferred), each
        a space-separated ARPAbet string ("" when the segment has no phone). Characters
        outside the table (unknown diacritics) are skipped.
    """
    table = _table(language)
    keys = _sorted_keys(language)
    text = unicodedata.normalize("NFC", ipa)
    # Nasal vowels must stay decomposed (vowel + U+0303) to match the table.
    text = unicodedata.normalize("NFD", text)
    text = "".join(ch for ch in text if ch not in _IGNORED and not ch.isspace())
    text = unicodedata.normalize("NFC", text)
    slots: list[list[str]] = []
    i = 0
    while i < len(text):
        for key in keys:
            k = unicodedata.normalize("NFC", key)
            if text.startswith(k, i):
                slots.append(list(table[key]))
                i += len(k)
                break
        else:
            i += 1  # unknown symbol: no phone
    return slots


def _expand(slots: list[list[str]], max_variants: int) -> list[list[str]]:
    """Combinations of slot alternatives, preferred first, deduplicated, at most ``max_variants``."""
    ambiguous = [k for k, alts in enumerate(slots) if len(alts) > 1]
    out: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    # Vary one slot at a time before combining, so the few variants we keep are the most
    # plausible ones (one deviation from the preferred reading).
    candidates = [tuple(0 for _ in slots)]
    for k in ambiguous:
        for a in range(1, len(slots[k])):
            choice = [0] * len(slots)
            choice[k] = a
            candidates.append(tuple(choice))
    candidates.extend(
        tuple(c) for c in itertools.islice(itertools.product(*[range(len(s)) for s in slots]), 64)
    )
    for choice in candidates:
        phones = [p for k, c in enumerate(choice) for p in slots[k][c].split()]
        key = tuple(phones)
        if phones and key not in seen:
            seen.add(key)
            out.append(phones)
        if len(out) >= max_variants:
            break
    return out


@functools.lru_cache(maxsize=50_000)
def _pronunciations(word: str, language: str, max_variants: int) -> tuple[tuple[str, ...], ...]:
    from lipcoach.media import espeak

    base = language.split("-")[0]
    if base == "en":
        entries = cmudict()
        if word in entries:
            return tuple(tuple(p) for p in entries[word][:max_variants])
        parts = [p for p in word.replace("-", " ").split() if p]
        if len(parts) > 1 and all(p in entries for p in parts):
            return (tuple(ph for p in parts for ph in entries[p][0]),)
    voice = "en-us" if base == "en" else language
    ipa = espeak.phonemize_ipa(word.replace("-", " "), voice)
    if _SWITCH.search(ipa) and "'" in word:
        # eSpeak switched language (it spelled the token out): phonemise the pieces.
        head, _, tail = word.partition("'")
        prefix = FRENCH_CLITICS.get(head) if base == "fr" else None
        ipa = (prefix if prefix is not None else espeak.phonemize_ipa(head, voice)) + espeak.phonemize_ipa(tail, voice)
    ipa = _SWITCH.sub("", ipa)
    variants = _expand(ipa_to_arpabet(ipa, language), max_variants)
    return tuple(tuple(v) for v in variants)


def word_pronunciations(word: str, language: str = "en", *, max_variants: int = _MAX_VARIANTS) -> list[list[str]]:
    """All pronunciations of ``word`` in en-us phones, preferred first.

    Parameters
    ----------
    word : str
        A lyric token; punctuation around it is ignored ("Home," = "home").
    language : str
        ISO 639-1 code ("en", "fr", "es", "de", ...), an eSpeak voice name, or a language name.
    max_variants : int
        Most pronunciations returned.

    Returns
    -------
    list of list of str
        Never empty for a word with a letter or digit; empty for a token without any.

    Raises
    ------
    LipcoachError
        When the language is unknown to eSpeak NG.
    """
    lang = check_language(language)
    form = align_form(word)
    if not form:
        return []
    return [list(p) for p in _pronunciations(form, lang, max_variants)]


def word_phones(word: str, language: str = "en") -> list[str]:
    """The preferred pronunciation of ``word`` in en-us ARPAbet phones (no stress digits).

    >>> word_phones("Hello,", "en")
    ['HH', 'AH', 'L', 'OW']
    """
    variants = word_pronunciations(word, language, max_variants=1)
    return variants[0] if variants else []
