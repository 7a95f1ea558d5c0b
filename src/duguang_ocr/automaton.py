"""Finite automata over a model's class ids: what a constrained decode may emit.

A constraint (a character set, a regular expression, a word list) becomes one deterministic
automaton whose edges are labelled with CTC class ids, so the prefix beam search
(:mod:`.prefix_search`) can ask "which classes may extend this prefix, and where does each
lead" with array lookups instead of string matching. Edges are stored CSR-style (per state a
slice of ``labels``/``targets``), because a 7,000-class vocabulary times thousands of
lexicon states would not fit in a dense table, while the beam only ever needs the edges of
the ~10 states it currently holds.

Every automaton is *trimmed*: states that cannot reach an accepting state are removed, and
``min_left[q]`` holds the fewest labels that lead from ``q`` to acceptance. The search uses
it to drop prefixes that can no longer finish in the frames left, which is exact (such a
prefix can never be an answer) and keeps the beam from filling with dead ends.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from .vocab import case_pairs

UNREACHABLE = np.iinfo(np.int64).max // 4


@dataclass(frozen=True, eq=False)
class Automaton:
    """A trimmed DFA over class ids.

    Attributes:
        indptr: (S + 1,) state ``q``'s edges are ``labels[indptr[q]:indptr[q + 1]]``.
        labels: (E,) class id of each edge, sorted within a state (never the blank, 0).
        targets: (E,) state each edge leads to.
        accepting: (S,) whether a labelling may end in the state.
        min_left: (S,) fewest labels from the state to an accepting state.
        start: the initial state (0; an automaton accepting nothing has no states).
    """

    indptr: np.ndarray
    labels: np.ndarray
    targets: np.ndarray
    accepting: np.ndarray
    min_left: np.ndarray
    start: int = 0

    @property
    def num_states(self) -> int:
        return len(self.accepting)

    @cached_property
    def used_labels(self) -> np.ndarray:
        """The distinct class ids on any edge."""
        return np.unique(self.labels)

    @cached_property
    def compact(self) -> tuple[np.ndarray, Automaton]:
        """(columns, automaton): the blank and the used classes, and this automaton with
        each label replaced by its position in ``columns``. A search over ``lp[:, columns]``
        is the same search over 40 columns instead of 7,000."""
        columns = np.concatenate([[0], self.used_labels]).astype(np.int64)
        return columns, self.relabel(columns)

    def relabel(self, columns: np.ndarray) -> Automaton:
        """This automaton over ``lp[:, columns]``: each label replaced by its position in
        ``columns`` (sorted, holding every label)."""
        return replace(self, labels=np.searchsorted(columns, self.labels))

    @property
    def empty(self) -> bool:
        """True when no labelling at all is accepted."""
        return self.num_states == 0

    def edges(self, state: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.indptr[state], self.indptr[state + 1]
        return self.labels[a:b], self.targets[a:b]

    def step(self, state: int, label: int) -> int | None:
        """The state after ``label``, or None when the automaton refuses it."""
        labels, targets = self.edges(state)
        i = int(np.searchsorted(labels, label))
        return int(targets[i]) if i < labels.size and labels[i] == label else None

    def accepts(self, ids: Iterable[int]) -> bool:
        """Whether the labelling (class ids, no blanks) is in the language."""
        if self.empty:
            return False
        state: int | None = self.start
        for i in ids:
            state = self.step(state, int(i))
            if state is None:
                return False
        return bool(self.accepting[state])

    def restrict(self, keep: np.ndarray) -> Automaton:
        """The same automaton with only the edges whose label has ``keep[label]`` True."""
        edges = [
            [(int(lab), int(tgt)) for lab, tgt in zip(*self.edges(q)) if keep[lab]]
            for q in range(self.num_states)
        ]
        return from_edges(edges, self.accepting.tolist(), self.start)


def from_edges(edges: Sequence[Iterable[tuple[int, int]]], accepting: Sequence[bool],
               start: int = 0) -> Automaton:
    """Build a trimmed :class:`Automaton` from per-state ``(label, target)`` lists.

    Keeps only states reachable from ``start`` that can reach acceptance, renumbered in
    breadth-first order from ``start`` (which becomes 0).

    Raises:
        ValueError: a state has two edges with the same label (not deterministic).
    """
    edges = [sorted(e) for e in edges]
    for q, e in enumerate(edges):
        labs = [lab for lab, _ in e]
        if len(set(labs)) != len(labs):
            raise ValueError(f"state {q} has two edges with the same label (not a DFA)")
    min_left = _distances_to_accept(edges, accepting)
    reachable = bool(edges) and min_left[start] < UNREACHABLE
    order, seen = [], {start} if reachable else set()
    queue = deque(seen)
    while queue:
        q = queue.popleft()
        order.append(q)
        for _, t in edges[q]:
            if t not in seen and min_left[t] < UNREACHABLE:
                seen.add(t)
                queue.append(t)
    new_id = {q: i for i, q in enumerate(order)}
    indptr, labels, targets = [0], [], []
    for q in order:
        for lab, t in edges[q]:
            if t in new_id:
                labels.append(lab)
                targets.append(new_id[t])
        indptr.append(len(labels))
    return Automaton(
        indptr=np.asarray(indptr, dtype=np.int64),
        labels=np.asarray(labels, dtype=np.int64),
        targets=np.asarray(targets, dtype=np.int64),
        accepting=np.asarray([bool(accepting[q]) for q in order], dtype=bool),
        min_left=np.asarray([min_left[q] for q in order], dtype=np.int64),
    )


def _distances_to_accept(edges: Sequence[Sequence[tuple[int, int]]],
                         accepting: Sequence[bool]) -> list[int]:
    """Fewest edges from each state to an accepting one (breadth-first on reversed edges)."""
    reverse: list[list[int]] = [[] for _ in edges]
    for q, e in enumerate(edges):
        for _, t in e:
            reverse[t].append(q)
    dist = [0 if a else UNREACHABLE for a in accepting]
    queue = deque(q for q, a in enumerate(accepting) if a)
    while queue:
        t = queue.popleft()
        for q in reverse[t]:
            if dist[q] == UNREACHABLE:
                dist[q] = dist[t] + 1
                queue.append(q)
    return dist


def char_ids(itos: Sequence[str], ignore_case: bool = False) -> dict[str, list[int]]:
    """Character -> the class ids that emit it (with ``ignore_case``, keyed by lower case).

    Entries that are not exactly one character (the blank, unused slots) are left out: a
    constrained decode never emits them.
    """
    out: dict[str, list[int]] = {}
    for i, s in enumerate(itos):
        if i and len(s) == 1:
            out.setdefault(s.lower() if ignore_case else s, []).append(i)
    return out


class CaseFold:
    """A vocabulary's upper- and lower-case letter classes merged, for case-insensitive
    constrained decoding.

    With both cases allowed, a beam spends its slots on case variants of one reading
    ("Exit", "EXIT", "exit", ...) and splits each letter's probability between two
    labellings. Folding adds every upper-case class's probability into its lower-case
    class before the search (so the search ranks letters whatever their case, exactly as
    case-insensitive matching means) and restores each letter's likelier case after it.

    Attributes:
        itos: the folded vocabulary: upper-case letters with a lower-case class emit ''.
        upper_of: lower-case class id -> its upper-case twin's.
    """

    def __init__(self, itos: Sequence[str]):
        pairs = case_pairs(itos)
        self.upper_of = dict(pairs)
        self.itos = list(itos)
        for _, u in pairs:
            self.itos[u] = ""


def any_of(itos: Sequence[str], keep: np.ndarray) -> Automaton:
    """One accepting state looping on every class with ``keep[class]``: any string of them."""
    labels = [i for i in range(1, len(itos)) if keep[i]]
    return from_edges([[(lab, 0) for lab in labels]], [True])


def char_mask(itos: Sequence[str], allowed: str | Iterable[str] | None = None,
              blocked: str | Iterable[str] | None = None) -> np.ndarray:
    """(C,) bool: classes that emit one character in ``allowed`` (all, when None) and not
    in ``blocked``. The blank and unused slots are always False."""
    allowed_set = None if allowed is None else set(allowed)
    blocked_set = set(blocked or ())
    return np.array([
        i > 0 and len(s) == 1 and (allowed_set is None or s in allowed_set)
        and s not in blocked_set
        for i, s in enumerate(itos)
    ], dtype=bool)


def read_lexicon(lexicon: str | os.PathLike | Iterable[str]) -> list[str]:
    """Entries from a list, or from a UTF-8 file with one entry a line (blank lines skipped).

    A ``str`` is a path: a single word would be a one-entry list, so it is refused unless a
    file of that name exists.
    """
    if isinstance(lexicon, (str, os.PathLike)):
        path = Path(lexicon)
        if not path.is_file():
            raise FileNotFoundError(f"lexicon file {str(path)!r} not found (pass a list of "
                                    "entries, or a path to a file with one entry a line)")
        entries = path.read_text(encoding="utf-8").splitlines()
    else:
        entries = list(lexicon)
    return [e.strip() for e in entries if e.strip()]


def trie(entries: Iterable[str], itos: Sequence[str], ignore_case: bool = False,
         words: bool = False) -> Automaton:
    """A lexicon as a trie over class ids.

    Args:
        entries: the accepted strings.
        itos: class id -> character.
        ignore_case: match letters in either case (the trie is built on lower-cased entries
            and each letter edge accepts both cases' classes).
        words: accept one or more entries separated by single spaces (``lexicon_mode
            ="words"``): every accepting node gets a space edge back to the root. Entries
            are then split on whitespace.

    Entries with a character the vocabulary cannot emit are skipped (no labelling could
    spell them).
    """
    ids = char_ids(itos, ignore_case)
    if words:
        entries = [w for e in entries for w in e.split()]
    children: list[dict[str, int]] = [{}]
    accepting = [False]
    for entry in entries:
        key = entry.lower() if ignore_case else entry
        if not key or any(ch not in ids for ch in key):
            continue
        node = 0
        for ch in key:
            nxt = children[node].get(ch)
            if nxt is None:
                nxt = len(children)
                children[node][ch] = nxt
                children.append({})
                accepting.append(False)
            node = nxt
        accepting[node] = True
    space = ids.get(" ", []) if words else []
    edges = []
    for q, kids in enumerate(children):
        e = [(i, t) for ch, t in kids.items() for i in ids[ch]]
        if accepting[q]:
            e += [(i, 0) for i in space]
        edges.append(e)
    # In words mode the root stays non-accepting, so a space must be followed by a word.
    return from_edges(edges, accepting)

