"""CTC prefix beam search through an automaton: the best labelling the automaton accepts.

Decoding under a constraint must not read the unconstrained best string and then filter or
patch it: a plate whose greedy reading has one letter too many may still have a perfectly
probable 7-character reading in the lattice. So the constraint is applied *inside* the
search: every prefix carries its automaton state, may only be extended by the classes its
state allows, and only prefixes in accepting states may win at the end. Scores are the exact
CTC sums over alignments (probability of the prefix with its alignment ending in a blank,
``pb``, or in its last label, ``pnb``), so with a beam at least as wide as the number of
accepted labellings the result is the exact constrained optimum (tested against brute-force
enumeration).

Unconstrained beam search is the special case of a one-state automaton accepting every
class, which is how :func:`duguang_ocr.decoding.ctc_beam_search` runs it.

Per frame, the extensions are scored in a few numpy expressions. Three exact devices keep
that cheap and the beam useful:

* an extension that recreates a prefix already in the beam is merged into it, so one
  labelling never takes two beam slots;
* a prefix whose state needs more labels than frames remain is dropped
  (``Automaton.min_left``): it can never be an answer;
* once the beam is full, its weakest prefix's score is a floor no extension below it can
  enter the beam over, so only classes with ``row[c] >= floor - best prefix`` are looked
  at: a few per frame on a trained model's peaky output instead of all 7,000 (looked up in
  the automaton by a sorted ``state * C + label`` key).
"""

from __future__ import annotations

import numpy as np

from .automaton import Automaton
from .vocab import BLANK

_NEG_INF = -np.inf
# Beams whose states have at most this many edges in all score every edge directly: the
# floor estimate (a partition of the frame's row) would cost more than it saves.
DIRECT_EDGES = 512


class _Edges:
    """Edge lookups for one automaton and vocabulary size."""

    def __init__(self, automaton: Automaton, num_classes: int):
        self.a = automaton
        self.c = num_classes
        owner = np.repeat(np.arange(automaton.num_states), np.diff(automaton.indptr))
        self.keys = owner * num_classes + automaton.labels  # sorted: CSR is state-major

    def of_states(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every edge of every beam state: (owner beam index, label, target)."""
        a = self.a
        first = a.indptr[states]
        counts = a.indptr[states + 1] - first
        offsets = np.zeros(len(states), dtype=np.int64)
        np.cumsum(counts[:-1], out=offsets[1:])
        edge = np.arange(int(counts.sum())) + np.repeat(first - offsets, counts)
        return np.repeat(np.arange(len(states)), counts), a.labels[edge], a.targets[edge]

    def lookup(self, states: np.ndarray, labels: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The edges among (beam state x ``labels``) pairs that exist."""
        owner = np.repeat(np.arange(len(states)), labels.size)
        lab = np.tile(labels, len(states))
        key = states[owner] * self.c + lab
        pos = np.minimum(np.searchsorted(self.keys, key), max(self.keys.size - 1, 0))
        hit = self.keys[pos] == key if self.keys.size else np.zeros(key.size, dtype=bool)
        return owner[hit], lab[hit], self.a.targets[pos[hit]]

    def count(self, states: np.ndarray) -> int:
        return int((self.a.indptr[states + 1] - self.a.indptr[states]).sum())


def prefix_search(lp: np.ndarray, automaton: Automaton, beam_width: int,
                  prune: float = 0.0) -> tuple[int, ...] | None:
    """The most probable accepted labelling of one (T, C) float64 log-probability matrix.

    Args:
        lp: natural-log probabilities, class 0 the blank.
        automaton: what may be emitted (see :mod:`.automaton`).
        beam_width: prefixes kept per frame.
        prune: skip extensions by classes whose probability in the frame is below this
            (0: none; exactness for the given beam is kept only at 0).

    Returns:
        The labelling's class ids, or None when no accepted labelling survived (none exists
        in T frames, or the beam lost them all).
    """
    t_len = lp.shape[0]
    if automaton.empty or automaton.min_left[automaton.start] > t_len:
        return None
    beam = _Beam(automaton, lp.shape[1], beam_width, np.log(prune) if prune > 0 else _NEG_INF)
    # Per frame, the best any extension could add: the likeliest class the automaton uses.
    ceiling = lp[:, automaton.used_labels].max(1) if automaton.used_labels.size else \
        np.full(t_len, _NEG_INF)
    for t in range(t_len):
        if not beam.step(lp[t], t_len - 1 - t, ceiling[t]):
            return None
    return beam.best()


class _Beam:
    """The prefixes alive after some frames, with their automaton states and CTC scores."""

    def __init__(self, automaton: Automaton, num_classes: int, width: int, log_prune: float):
        self.a, self.c, self.width, self.log_prune = automaton, num_classes, width, log_prune
        self.edges = _Edges(automaton, num_classes)
        self.prefixes: list[tuple[int, ...]] = [()]
        self.states = np.array([automaton.start])
        self.pb = np.array([0.0])  # log P(prefix, alignment ends in a blank)
        self.pnb = np.array([_NEG_INF])  # log P(prefix, alignment ends in its last label)
        self.last = np.array([-1])
        self._family = _family(self.prefixes)

    def step(self, row: np.ndarray, left: int, ceiling: float) -> bool:
        """Advance one frame (``left`` frames follow it; no extension scores more than
        ``ceiling`` above its prefix); False if nothing survives."""
        total = np.logaddexp(self.pb, self.pnb)
        stay_pb = total + row[BLANK]
        stay_pnb = np.where(self.last >= 0, self.pnb + row[np.maximum(self.last, 0)], _NEG_INF)
        merged = self._merge(row, total, stay_pnb)
        stay = np.logaddexp(stay_pb, stay_pnb)
        stay[self.a.min_left[self.states] > left] = _NEG_INF
        if len(stay) == self.width and total.max() + ceiling < stay.min():
            # A quiet frame (most are: blanks between and after characters): the beam is
            # full and no new prefix can beat any of it, so the prefixes stay as they are.
            self.pb, self.pnb = stay_pb, stay_pnb
            return True

        # Wide automata (every class, or many): score only extensions that could reach an
        # optimistic guess of the beam's floor; if fewer than `width` candidates reach it,
        # redo with the floor they did reach. Narrow ones: score every edge.
        wide = self.edges.count(self.states) > DIRECT_EDGES
        guess = _optimistic_floor(stay, total, row, self.width) if wide else _NEG_INF
        owner, label, target, ext = self._extensions(row, total, left, merged, guess)
        if np.isfinite(guess):
            reached = _kth_best(np.concatenate([stay, ext]), self.width)
            if not reached >= guess:
                owner, label, target, ext = self._extensions(row, total, left, merged, reached)

        scores = np.concatenate([stay, ext])
        k = min(self.width, scores.size)
        top = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[np.isfinite(scores[top])]
        if not top.size:
            return False
        n_beam = len(self.prefixes)
        is_stay = top < n_beam
        e = np.maximum(top - n_beam, 0)
        if not ext.size:  # only stays: give the gathers below something to index
            owner = label = target = ext = np.zeros(1, dtype=np.int64)
        parent = np.where(is_stay, top, owner[e])
        new_label = np.where(is_stay, -1, label[e])
        self.prefixes = [
            self.prefixes[b] if lab < 0 else self.prefixes[b] + (lab,)
            for b, lab in zip(parent.tolist(), new_label.tolist())
        ]
        self.states = np.where(is_stay, self.states[parent], target[e])
        self.pb = np.where(is_stay, stay_pb[parent], _NEG_INF)
        self.pnb = np.where(is_stay, stay_pnb[parent], ext[e])
        self.last = np.where(is_stay, self.last[parent], new_label)
        self._family = _family(self.prefixes)
        return True

    def _merge(self, row: np.ndarray, total: np.ndarray, stay_pnb: np.ndarray) -> np.ndarray:
        """Add to ``stay_pnb`` the extensions that recreate a prefix already in the beam;
        return their keys (parent * C + label) so they are not scored again."""
        child, parent, label = self._family
        if not child.size:
            return child
        base = np.where(label == self.last[parent], self.pb[parent], total[parent]) + row[label]
        base[row[label] < self.log_prune] = _NEG_INF
        stay_pnb[child] = np.logaddexp(stay_pnb[child], base)  # each child has one parent
        return parent * self.c + label

    def _extensions(self, row: np.ndarray, total: np.ndarray, left: int, merged: np.ndarray,
                    floor: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(owner, label, target, score) of the extensions that can reach ``floor``.

        A label equal to the prefix's last one starts a new character only after a blank,
        so it extends from ``pb`` alone.
        """
        owner, label, target = _extensions_above(self.edges, self.states, row, total, floor,
                                                 self.log_prune)
        ext = np.where(label == self.last[owner], self.pb[owner], total[owner]) + row[label]
        ext[self.a.min_left[target] > left] = _NEG_INF
        if merged.size:  # a handful of keys: a broadcast compare beats np.isin's sort
            keys = owner * self.c + label
            ext[(keys[:, None] == merged[None, :]).any(1)] = _NEG_INF
        return owner, label, target, ext

    def best(self) -> tuple[int, ...] | None:
        final = np.logaddexp(self.pb, self.pnb)
        final[~self.a.accepting[self.states]] = _NEG_INF
        i = int(np.argmax(final))
        return self.prefixes[i] if np.isfinite(final[i]) else None


def _family(prefixes: list[tuple[int, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(child, parent, label) index arrays of the beam prefixes whose parent (the prefix
    without its last label) is in the beam too; recomputed only when the beam changes."""
    index = {q: i for i, q in enumerate(prefixes)}
    rows = [(i, index[q[:-1]], q[-1]) for i, q in enumerate(prefixes) if q and q[:-1] in index]
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    child, parent, label = (np.array(x, dtype=np.int64) for x in zip(*rows))
    return child, parent, label


def _kth_best(scores: np.ndarray, k: int) -> float:
    """The k-th largest score, -inf when there are fewer than k finite ones."""
    finite = scores[np.isfinite(scores)]
    if finite.size < k:
        return _NEG_INF
    return float(np.partition(finite, finite.size - k)[finite.size - k])


def _optimistic_floor(stay: np.ndarray, total: np.ndarray, row: np.ndarray, k: int) -> float:
    """A guess at the k-th best candidate score: the k-th best among the stays and the best
    prefix extended by the row's k likeliest classes (which its state may not allow)."""
    if not np.isfinite(total).any():
        return _NEG_INF
    labels = row[1:]
    top = labels if labels.size <= k else np.partition(labels, labels.size - k)[-k:]
    return _kth_best(np.concatenate([stay, total.max() + top]), k)


def _extensions_above(edges: _Edges, states: np.ndarray, row: np.ndarray, total: np.ndarray,
                      floor: float, log_prune: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The extensions (owner beam index, label, target state) whose score can reach
    ``floor``: every extension of prefix ``i`` by ``c`` scores at most ``total[i] + row[c]``.

    Uses the cheaper of "every edge of the beam's states" and "the classes that can reach
    the floor, looked up per state" (a few classes per frame on a trained model's peaky
    output instead of all 7,000).
    """
    threshold = max(floor - total.max(), log_prune) if np.isfinite(total).any() else floor
    if not np.isfinite(threshold):
        return edges.of_states(states)
    good = np.nonzero(row >= threshold)[0]
    good = good[good != BLANK]
    if good.size * len(states) < edges.count(states):
        owner, label, target = edges.lookup(states, good)
    else:
        owner, label, target = edges.of_states(states)
    keep = (total[owner] + row[label] >= floor) & (row[label] >= log_prune)
    return owner[keep], label[keep], target[keep]
