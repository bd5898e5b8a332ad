"""ComfyUI's prompt weighting syntax."""
import pytest

from engine.text.prompt_weights import parse_weights


def weights_of(text):
    return [(segment, round(weight, 6)) for segment, weight in parse_weights(text)]


def test_plain_text_is_one_segment_at_weight_one():
    assert weights_of("a cat, on a mat") == [("a cat, on a mat", 1.0)]


def test_parentheses_multiply_by_1_1_and_nest():
    assert weights_of("a (cat) ((dog)) (((fox)))") == [
        ("a ", 1.0), ("cat", 1.1), (" ", 1.0), ("dog", 1.21), (" ", 1.0), ("fox", 1.331)]


def test_explicit_weight_replaces_the_outer_weight():
    assert weights_of("(cat:1.3)") == [("cat", 1.3)]
    assert weights_of("((cat:0.5) dog)") == [("cat", 0.5), (" dog", 1.1)]
    assert weights_of("((cat:1.5))") == [("cat", 1.5)]


def test_explicit_weight_uses_the_last_colon():
    assert weights_of("(time: 12:00:2)") == [("time: 12:00", 2.0)]


def test_colon_without_a_number_is_text():
    assert weights_of("(style:anime)") == [("style:anime", 1.1)]


def test_square_brackets_are_plain_text():
    assert weights_of("[cat] (dog)") == [("[cat] ", 1.0), ("dog", 1.1)]


def test_escaped_parentheses_are_literal():
    assert weights_of(r"\(cat\) (dog \(big\))") == [("(cat) ", 1.0), ("dog (big)", 1.1)]


@pytest.mark.parametrize("text", ["(cat", "cat)", "((cat)", "(cat))", ")(", "((((", "a (b (c) d"])
def test_unbalanced_parentheses_do_not_fail_and_keep_the_words(text):
    segments = parse_weights(text)
    joined = "".join(segment for segment, _ in segments)
    for word in ("cat", "b", "c", "d"):
        if word in text:
            assert word in joined
    assert all(weight > 0 for _, weight in segments)


def test_unclosed_parenthesis_stays_literal():
    assert weights_of("a (cat") == [("a (cat", 1.0)]
    assert weights_of("(big) cat)") == [("big", 1.1), (" cat)", 1.0)]


def test_empty_segments_are_dropped():
    assert weights_of("()") == []
    assert weights_of("") == []
