"""The coach's words: what goes first on the page (pure, always run)."""

from lipcoach.take.report import breath_words, fixes_first, moment_reason


def doc(lines, *, offset_ms=10.0, verdict="in_sync", gaps=(), duration_s=30.0):
    return {"verdict": verdict, "lines": lines, "gaps": list(gaps), "take": {"duration_s": duration_s},
            "sync": {"offset_ms": offset_ms, "absolute": True}}


def line(index, text, *, offset_ms=0.0, n_words=4, n_hit=4, closures=(), open_more=(), breath=None):
    return {"index": index, "text": text, "start_s": 10.0 * index + 5, "offset_ms": offset_ms, "n_words": n_words,
            "n_hit": n_hit, "closures_missed": list(closures), "open_more": list(open_more), "breath": breath}


def test_the_worst_line_comes_first_in_plain_words():
    fixes = fixes_first(doc([
        line(0, "paper boats upon the river", offset_ms=120.0, closures=["boats"]),
        line(1, "carry all the words I never said", open_more=["all"]),
        line(2, "morning light across the water", n_hit=1),
    ]))
    assert len(fixes) == 3
    assert fixes[0].startswith("Line 3 ‘morning light across the…’") and "did not move on 3 of its 4 words" in fixes[0]
    assert fixes[1].startswith("Line 1 ‘paper boats upon the…’")
    assert "came in 120 ms late" in fixes[1] and "lips stayed open on ‘boats’" in fixes[1]
    assert "open more on ‘all’" in fixes[2]


def test_a_late_take_is_told_once_not_line_by_line():
    fixes = fixes_first(doc([line(0, "a b c", offset_ms=150.0), line(1, "d e f", offset_ms=160.0)], offset_ms=155.0))
    assert fixes[0].startswith("Overall you are 155 ms behind the vocal")
    assert not any("came in" in f for f in fixes)


def test_mouthing_in_gaps_and_breaths_are_mentioned():
    fixes = fixes_first(doc([line(0, "a b", breath="not_shown")],
                            gaps=[{"start_s": 32.0, "end_s": 36.5, "mouthing": True}]))
    assert any("mouthing during the instrumental (0:32.0–0:36.5)" in f for f in fixes)
    assert any("show the breath" in f for f in fixes)


def test_not_lip_syncing_says_only_that_and_a_clean_take_is_praised():
    assert len(fixes_first(doc([line(0, "a", offset_ms=None)], verdict="not_lip_syncing"))) == 1
    assert fixes_first(doc([line(0, "a b")]))[0].startswith("Clean take")
    assert "only 5 s long" in fixes_first(doc([line(0, "a b")], duration_s=5.0))[-1]


def test_still_captions_say_why():
    base = {"hit": True, "closure_ok": None, "timing_error_ms": 0.0, "open_ratio": None, "score": 50.0}
    assert moment_reason({**base, "hit": False}) == "your mouth did not move"
    assert moment_reason({**base, "closure_ok": False}) == "lips not closed on the m/b/p"
    assert moment_reason({**base, "timing_error_ms": -130.0}) == "130 ms early"
    assert moment_reason({**base, "open_ratio": 0.4}) == "mouth opened to 40 % of what this note needs"


def test_cant_confirm_says_why_and_is_not_told_it_is_not_lip_syncing():
    d = {**doc([line(0, "a", offset_ms=None)], verdict="cant_confirm", offset_ms=None),
         "verdict_reason": "too few words seen to tell (4 in the take, 8 needed): record a longer take"}
    fixes = fixes_first(d)
    assert len(fixes) == 1 and fixes[0].startswith("Can't confirm") and "too few words seen" in fixes[0]
    assert "does not follow" not in fixes[0]


def test_the_breath_before_a_line_says_what_showed_it():
    def said(breath, by):
        return breath_words({**line(0, "a"), "breath": breath, "breath_by": by})

    assert said("shown", {"face": "shown", "body": "not_shown"}) == "shown by mouth"
    assert said("shown", {"face": "not_shown", "body": "shown"}) == "shown by shoulders"
    assert said("shown", {"face": "shown", "body": "shown"}) == "shown by mouth and shoulders"
    assert said("not_shown", {"face": "not_shown", "body": None}) == "not shown"
    assert said(None, {"face": "hidden", "body": None}) == "not judged (face not seen)"
    assert said(None, None) == "–"  # no breath before the line
    assert breath_words(line(0, "a", breath="shown")) == "shown"  # a report from before breath_by
