"""Words to en-us phones: the CMU dictionary, eSpeak for the rest, other languages mapped."""

from __future__ import annotations

import pytest

from lipcoach.errors import LipcoachError
from lipcoach.song.g2p import ARPABET, IPA_TO_ARPABET, ipa_to_arpabet, word_phones, word_pronunciations


def test_english_words_come_from_the_cmu_dictionary():
    assert word_phones("Hello,", "en") == ["HH", "AH", "L", "OW"]
    assert word_pronunciations("don't", "en") == [["D", "OW", "N", "T"], ["D", "OW", "N"]]
    assert word_phones("Beautiful", "en-us")[:3] == ["B", "Y", "UW"]


def test_out_of_vocabulary_english_goes_through_espeak():
    phones = word_phones("lipcoachy", "en")
    assert phones[:4] == ["L", "IH", "P", "K"] and set(phones) <= set(ARPABET)


@pytest.mark.parametrize(
    "word, language, expected",
    [
        ("bonjour", "fr", ["B", "OW", "N", "ZH", "UW", "R"]),
        ("lune", "fr", ["L", "UW", "N"]),
        ("l'amour", "fr", ["L", "AA", "M", "UW", "R"]),
        ("qu'je", "fr", ["K", "ZH", "AH"]),  # colloquial elision before a consonant
        ("niño", "es", ["N", "IY", "N", "Y", "OW"]),
        ("corazón", "es", ["K", "OW", "D", "AA", "S", "OW", "N"]),  # seseo, tap as a flap
        ("Zeit", "de", ["T", "S", "AY", "T"]),
        ("Buch", "German", ["B", "UW", "HH"]),
    ],
)
def test_other_languages_map_espeak_ipa_to_en_us_phones(word, language, expected):
    assert word_phones(word, language) == expected


def test_ambiguous_sounds_offer_alternative_pronunciations():
    variants = word_pronunciations("vingt", "fr")
    assert ["V", "EH", "N"] in variants and ["V", "EH"] in variants
    assert all(set(v) <= set(ARPABET) for v in word_pronunciations("Veränderung", "de"))


def test_every_mapping_target_is_an_en_us_phone():
    for alternatives in IPA_TO_ARPABET.values():
        for alternative in alternatives:
            assert set(alternative.split()) <= set(ARPABET)


def test_ipa_stress_and_length_marks_are_ignored():
    assert ipa_to_arpabet("ˈyːbɜ", "de") == [["UW", "IY"], ["B"], ["ER"]]


def test_unknown_language_names_the_language():
    with pytest.raises(LipcoachError, match="'xx-klingon'"):
        word_phones("qapla", "xx-klingon")


def test_token_without_letters_has_no_phones():
    assert word_phones("...", "en") == []
