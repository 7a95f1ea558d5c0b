"""Constrained decoding: the regex compiler against Python's re, the lexicon trie, and the
constrained prefix beam search against brute-force enumeration of every labelling."""

import itertools
import re

import numpy as np
import pytest

from duguang_ocr import automaton as fsa
from duguang_ocr.decoding import ctc_constrained_search, ctc_sequence_log_prob
from duguang_ocr.pattern import PatternError, compile_pattern
from duguang_ocr.readout import build_constraint
from tests.test_decoding import brute_force, random_probs

ITOS = ["", "a", "b", "c"]
ALPHA = ["", "a", "b", "c", "A", "1", "2", " ", "京", ".", "{", "}"]

PATTERNS = [r"a*b", r"(ab|c)+", r"[ab]{2,3}", r"a?c?b", r"^[京A][a-c]\d{1,2}$", r"(?i)a+b",
            r"a{,2}", r"a{}", r"[^a]*", r".\.", r"(?:a|b)*c{2}", r"\w+ \d", r"(?P<x>a)|b", r"",
            r"a|", r"a{2}?b", r"[]a]", r"\x41", r"\u4eac[12]", r"[a-c-]+", r"(a|)(b|)c*?",
            r"\s", r"\D\W", r"a{1,}b{0,1}", r"(((a)))", r"[\d.]+"]


def _texts(alphabet, max_len):
    for n in range(max_len + 1):
        yield from itertools.product(alphabet, repeat=n)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_pattern_accepts_exactly_what_re_fullmatch_accepts(pattern):
    auto = compile_pattern(pattern, ALPHA)
    rx = re.compile(pattern)
    for chars in _texts(ALPHA[1:], 4 if len(pattern) < 12 else 3):
        ids = [ALPHA.index(c) for c in chars]
        assert auto.accepts(ids) == bool(rx.fullmatch("".join(chars))), "".join(chars)


def test_ignore_case_flag_and_argument_agree():
    a = compile_pattern("ab", ALPHA, ignore_case=True)
    b = compile_pattern("(?i)ab", ALPHA)
    for chars in _texts(["a", "A", "b"], 2):
        ids = [ALPHA.index(c) for c in chars]
        want = "".join(chars).lower() == "ab"
        assert a.accepts(ids) == b.accepts(ids) == want


@pytest.mark.parametrize(("pattern", "what"), [
    (r"a(?=b)", "lookahead"), (r"(a)\1", "backreference"), (r"a\b", "word boundary"),
    (r"a++", "possessive"), (r"a**", "multiple repeat"), (r"*a", "nothing to repeat"),
    (r"(ab", "missing ')'"), (r"ab)", "unbalanced"), (r"[ab", "unterminated"),
    (r"a^b", "anchor"), (r"a{3,1}", "exceeds"), (r"(?i:a)", "not supported"),
    (r"\q", "unknown escape"), (r"a{1001}", "repeat bound"), (r"a$b", "anchor"),
])
def test_unsupported_syntax_is_a_clear_error(pattern, what):
    with pytest.raises(PatternError, match=re.escape(what)) as e:
        compile_pattern(pattern, ALPHA)
    assert "Supported:" in str(e.value) and "position" in str(e.value)


def test_automaton_is_trimmed_and_knows_the_shortest_completion():
    auto = compile_pattern(r"ab{2}c|a", ITOS)
    assert auto.min_left[auto.start] == 1
    after_a = auto.step(auto.start, 1)
    assert auto.accepting[after_a] and auto.min_left[after_a] == 0
    after_ab = auto.step(after_a, 2)
    assert auto.min_left[after_ab] == 2
    assert compile_pattern("京", ITOS).empty  # nothing the vocabulary can spell
    assert not compile_pattern("京", ITOS).accepts([])


def test_trie_line_and_words_modes():
    itos = ["", "a", "b", " ", "A"]
    line = fsa.trie(["ab", "b", "ba", "c"], itos)  # "c" cannot be spelled: skipped
    words = fsa.trie(["ab b"], itos, words=True)
    folded = fsa.trie(["AB"], itos, ignore_case=True)
    for chars in _texts(["a", "b", " ", "A"], 5):
        text = "".join(chars)
        ids = [itos.index(c) for c in chars]
        assert line.accepts(ids) == (text in {"ab", "b", "ba"})
        assert words.accepts(ids) == bool(re.fullmatch(r"(ab|b)( (ab|b))*", text))
        assert folded.accepts(ids) == (text.lower() == "ab" and " " not in text
                                       and text in {"ab", "Ab"})


def test_read_lexicon_from_file_and_refuses_a_bare_word(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("alpha\n\n beta \n", encoding="utf-8")
    assert fsa.read_lexicon(path) == ["alpha", "beta"]
    assert fsa.read_lexicon(str(path)) == ["alpha", "beta"]
    with pytest.raises(FileNotFoundError, match="one entry a line"):
        fsa.read_lexicon("alpha")


def _constraints():
    return {
        "pattern a*b": (compile_pattern("a*b", ITOS), lambda s: re.fullmatch("a*b", s)),
        "pattern (ab|c)+": (compile_pattern("(ab|c)+", ITOS),
                            lambda s: re.fullmatch("(ab|c)+", s)),
        "pattern [ab]{2,3}": (compile_pattern("[ab]{2,3}", ITOS),
                              lambda s: re.fullmatch("[ab]{2,3}", s)),
        "lexicon": (fsa.trie(["ab", "ba", "c", "abc", "aa"], ITOS),
                    lambda s: s in {"ab", "ba", "c", "abc", "aa"}),
        "allowed a,c": (build_constraint(ITOS, allowed_chars="ac"), lambda s: set(s) <= {"a", "c"}),
        "blocked a": (build_constraint(ITOS, blocked_chars="a"), lambda s: "a" not in s),
        "allowed b + pattern": (build_constraint(ITOS, allowed_chars="b", pattern="[ab]+"),
                                lambda s: re.fullmatch("b+", s)),
    }


@pytest.mark.parametrize("seed", range(24))
def test_constrained_search_against_brute_force(seed):
    """With a beam as wide as the number of labellings, the constrained search returns the
    most probable accepted labelling of the whole lattice, or None when none exists."""
    rng = np.random.default_rng(1000 + seed)
    t = 1 + seed % 6
    probs = random_probs(rng, t, 4)
    lp = np.log(probs)
    totals, _, _ = brute_force(probs)
    for name, (auto, accepts) in _constraints().items():
        ok = {lab: p for lab, p in totals.items()
              if accepts("".join(ITOS[i] for i in lab))}
        got = ctc_constrained_search(lp, ITOS, auto, beam_width=4 ** t)
        if not ok:
            assert got is None, name
            continue
        assert got is not None and got.constraint_met, name
        assert auto.accepts(got.ids), name
        best = max(ok.values())
        assert totals[tuple(got.ids)] >= best * (1 - 1e-9), (name, got.ids)
        assert ctc_sequence_log_prob(lp, got.ids) == pytest.approx(np.log(totals[tuple(got.ids)]))


@pytest.mark.parametrize("seed", range(8))
def test_narrow_beams_never_return_a_rejected_labelling(seed):
    rng = np.random.default_rng(seed)
    lp = np.log(random_probs(rng, 12, 4))
    for auto, accepts in _constraints().values():
        for width in (1, 2, 3):
            got = ctc_constrained_search(lp, ITOS, auto, beam_width=width)
            assert got is None or accepts(got.text)


def test_constraint_beats_filtering_the_greedy_string():
    """Greedy reads "aab"; the only 2-character reading allowed by [ab]{2} that the lattice
    supports well is "ab": found inside the lattice, not by editing "aab"."""
    p = np.array([[0.05, 0.9, 0.03, 0.02], [0.6, 0.35, 0.03, 0.02], [0.05, 0.9, 0.03, 0.02],
                  [0.05, 0.05, 0.88, 0.02]])
    got = ctc_constrained_search(np.log(p), ITOS, compile_pattern("[ab]{2}", ITOS), 16)
    totals, _, _ = brute_force(p)
    two = {k: v for k, v in totals.items() if len(k) == 2 and 3 not in k}
    assert tuple(got.ids) == max(two, key=two.get)
    assert got.text in {"ab", "aa"}


def _reference_search(lp, auto, width):
    """A plain dict-based prefix beam search with the same semantics (merging, pruning of
    prefixes that cannot finish in time), no vectorisation and no skipped classes."""
    t_len = lp.shape[0]
    beam = {(): (0.0, -np.inf, auto.start)}
    for t in range(t_len):
        left, new = t_len - 1 - t, {}

        def add(prefix, pb, pnb, state, new=new):
            old = new.get(prefix, (-np.inf, -np.inf, state))
            new[prefix] = (np.logaddexp(old[0], pb), np.logaddexp(old[1], pnb), state)

        for prefix, (pb, pnb, q) in beam.items():
            total = np.logaddexp(pb, pnb)
            add(prefix, total + lp[t, 0], pnb + lp[t, prefix[-1]] if prefix else -np.inf, q)
            for c, q2 in zip(*auto.edges(q)):
                if auto.min_left[q2] <= left:
                    base = pb if prefix and c == prefix[-1] else total
                    add(prefix + (int(c),), -np.inf, base + lp[t, c], int(q2))
        alive = [(p, v) for p, v in new.items()
                 if auto.min_left[v[2]] <= left and np.isfinite(np.logaddexp(v[0], v[1]))]
        beam = dict(sorted(alive, key=lambda kv: -np.logaddexp(kv[1][0], kv[1][1]))[:width])
    done = [(np.logaddexp(pb, pnb), p) for p, (pb, pnb, q) in beam.items() if auto.accepting[q]]
    return max(done)[1] if done else None


@pytest.mark.parametrize("direct", [0, 512])  # 0: the floor estimate runs on every frame
@pytest.mark.parametrize("seed", range(16))
def test_vectorised_search_equals_a_plain_reference_for_narrow_beams(seed, direct, monkeypatch):
    """Narrow beams are where the skipped-class floor and the merging matter; the result
    must be the reference search's, labelling for labelling."""
    from duguang_ocr import prefix_search as ps
    from duguang_ocr.prefix_search import prefix_search

    monkeypatch.setattr(ps, "DIRECT_EDGES", direct)

    rng = np.random.default_rng(500 + seed)
    c = 4 + seed % 5
    itos = [""] + [chr(ord("a") + i) for i in range(c - 1)]
    peaky = rng.gamma(0.2 if seed % 2 else 1.0, size=(15, c))
    lp = np.log(peaky / peaky.sum(1, keepdims=True))
    automata = [fsa.any_of(itos, np.ones(c, bool)), compile_pattern("a[bc]*d?", itos),
                compile_pattern("(ab|ba|c)+", itos), fsa.trie(["abc", "bad", "cab", "b"], itos)]
    for auto in automata:
        for width in (1, 2, 3, 5):
            assert prefix_search(lp, auto, width) == _reference_search(lp, auto, width)


def test_a_narrow_beam_finds_a_reading_that_needs_every_frame():
    """Blanks dominate, so an unpruned narrow beam would hold only short prefixes and end
    with nothing of length 4; dropping prefixes that cannot finish keeps the right ones."""
    p = np.full((4, 4), 0.02)
    p[:, 0] = 0.9
    p[np.arange(4), [1, 2, 1, 2]] = 0.06
    p /= p.sum(1, keepdims=True)
    got = ctc_constrained_search(np.log(p), ITOS, compile_pattern("[ab]{4}", ITOS), 1)
    assert got is not None and got.text == "abab"


@pytest.mark.parametrize("seed", range(10))
def test_ignore_case_searches_the_case_folded_lattice_exactly(seed):
    """With ignore_case each letter's two cases count as one class: the result is the
    accepted word of highest probability in the folded lattice (brute force), each letter
    then written in the case the model preferred at its frame."""
    import torch

    from duguang_ocr.readout import Reader, ReadOptions

    itos = ["", "a", "b", "A", "B"]
    rng = np.random.default_rng(3000 + seed)
    t = 2 + seed % 4
    probs = random_probs(rng, t, 5)
    folded = probs[:, :3].copy()
    folded[:, 1:] += probs[:, 3:]
    totals, _, _ = brute_force(folded)
    ok = {lab: p for lab, p in totals.items() if "".join(ITOS[i] for i in lab) in {"ab", "b", "ba"}}
    opts = ReadOptions().updated(lexicon=["AB", "b", "Ba"], ignore_case=True, beam_width=64)
    (line,) = Reader(itos).decode(torch.from_numpy(np.log(probs))[None], opts)
    if not ok:
        assert line.constraint_met is False
        return
    assert line.constraint_met
    best = max(ok, key=ok.get)
    assert line.text.lower() == "".join(ITOS[i] for i in best)
    for ch, f in zip(line.text, line.char_frames):
        lower, upper = itos.index(ch.lower()), itos.index(ch.upper())
        assert probs[f, itos.index(ch)] == max(probs[f, lower], probs[f, upper])
    assert line.char_confidences == pytest.approx([folded[f, itos.index(c.lower())]
                                                   for c, f in zip(line.text, line.char_frames)])


def test_a_forced_reading_pays_for_the_evidence_it_overrides():
    """Greedy reads "ab"; a lexicon of ["b"] forces "b": its characters are confident, but
    the line is log P("ab") - log P("b") less likely, which the confidence must reflect."""
    import torch

    from duguang_ocr.calibration import line_features
    from duguang_ocr.readout import Reader, ReadOptions

    p = np.array([[0.05, 0.9, 0.03, 0.02], [0.9, 0.04, 0.03, 0.03],
                                  [0.05, 0.03, 0.9, 0.02], [0.9, 0.04, 0.03, 0.03]])
    lp = np.log(p)
    reader = Reader(ITOS)
    (free,) = reader.decode(torch.from_numpy(lp)[None], ReadOptions())
    (forced,) = reader.decode(torch.from_numpy(lp)[None], ReadOptions().updated(lexicon=["b"]))
    assert free.text == "ab" and free.constraint_cost == 0.0
    assert forced.text == "b" and forced.constraint_met
    want = ctc_sequence_log_prob(lp, [1, 2]) - ctc_sequence_log_prob(lp, [2])
    assert forced.constraint_cost == pytest.approx(want) and want > 2
    raw = line_features(forced.char_confidences, forced.confidence, 0.0,
                        forced.constraint_cost).raw
    assert raw == pytest.approx(p[2, 2] * np.exp(-want))
    (same,) = reader.decode(torch.from_numpy(lp)[None], ReadOptions().updated(lexicon=["ab"]))
    assert same.constraint_cost == 0.0  # the constraint changed nothing
