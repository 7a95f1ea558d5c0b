import pytest

from duguang_ocr.vocab import Vocab, VocabError


def test_offsets_and_round_trip(tmp_path):
    v = Vocab(["a", " ", "中"], offset=2)
    assert v.num_classes == 5 and v.itos[:2] == ["", ""]
    assert v.encode("中 a") == [4, 3, 2] and v.decode([4, 3, 2]) == "中 a"
    v.save(tmp_path / "vocab.txt")
    assert Vocab.from_file(tmp_path / "vocab.txt", offset=2) == v
    crnn = Vocab.from_file(tmp_path / "vocab.txt", offset=1)
    assert crnn.encode("a") == [1] and crnn.num_classes == 4


def test_space_line_is_a_symbol_like_modelscope(tmp_path):
    (tmp_path / "vocab.txt").write_text("a\n \nb\n", encoding="utf-8")
    assert Vocab.from_file(tmp_path / "vocab.txt").symbols == ["a", " ", "b"]


@pytest.mark.parametrize(
    "text,match", [("a\n\nb\n", "line 2 is empty"), ("a\nb\na\n", "appears twice"), ("", "empty")]
)
def test_bad_vocab_files(tmp_path, text, match):
    (tmp_path / "vocab.txt").write_text(text, encoding="utf-8")
    with pytest.raises(VocabError, match=match):
        Vocab.from_file(tmp_path / "vocab.txt")


def test_unknown_characters():
    v = Vocab(["a"])
    with pytest.raises(KeyError, match="U\\+4E2D"):
        v.encode("a中")
    assert v.encode("a中", unknown="skip") == [2]
    assert v.missing("a中b") == {"中", "b"}


def test_case_pairs_and_fold_case_cover_letters_held_in_both_cases():
    v = Vocab(list("abAB xY1É"), offset=2)
    assert v.case_pairs() == [(v.char_id("a"), v.char_id("A")), (v.char_id("b"), v.char_id("B"))]
    # Only letters whose lower case the vocabulary also holds are folded.
    assert v.fold_case("AbY x1ÉZ") == "abY x1ÉZ"
