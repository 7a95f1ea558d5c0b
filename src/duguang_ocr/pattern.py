"""Compile a regular expression (a documented subset of Python's syntax) to an automaton
over a model's class ids, for decoding that must produce a whole-line match.

Python's :mod:`re` can only test a finished string; a CTC decoder needs to know, after every
prefix, which characters may come next. So the pattern's *structure* (concatenation,
alternation, groups, quantifiers) is parsed here and compiled with Thompson's construction
to an NFA, then determinised by subset construction. The *atoms* (a literal, ``.``, an
escape such as ``\\d``, a bracket class such as ``[^A-Z0-9]``) are evaluated by Python's own
``re`` on every character of the vocabulary, so their meaning (Unicode classes, ranges,
case folding) is exactly Python's.

Subset construction runs over *minterms*: vocabulary characters that every atom treats
alike form one input symbol, so a 7,000-character vocabulary and a plate pattern give a
handful of symbols, not 7,000.

Supported: literals, ``.``, escapes (``\\d \\D \\w \\W \\s \\S``, ``\\.`` and other escaped
punctuation, ``\\t \\n \\xhh \\uXXXX \\UXXXXXXXX \\N{...}``), bracket classes, groups
``(...)``, ``(?:...)``, ``(?P<name>...)``, alternation ``|``, quantifiers ``* + ? {m} {m,}
{,n} {m,n}`` (lazy forms too: for a whole-line match they accept the same strings), a
leading ``(?i)``, and ``^``/``$``/``\\A``/``\\Z`` at the ends (the whole line must match
anyway). Anything else raises :class:`PatternError` naming the construct and its position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .automaton import Automaton, from_edges

MAX_REPEAT = 1000  # largest bound in {m,n}
MAX_NFA_STATES = 50_000
MAX_DFA_STATES = 20_000

SUPPORTED = ("literals, '.', escapes (\\d \\w \\s and their negations, escaped punctuation, "
             "\\t \\n \\xhh \\uXXXX), [classes], groups (...) (?:...) (?P<name>...), '|', "
             "quantifiers * + ? {m} {m,} {,n} {m,n}, a leading (?i), ^ and $ at the ends")


class PatternError(ValueError):
    """A pattern uses syntax outside the supported subset, or is malformed."""

    def __init__(self, pattern: str, pos: int, what: str):
        super().__init__(f"pattern {pattern!r}, position {pos}: {what}. Supported: {SUPPORTED}")
        self.pattern, self.pos, self.what = pattern, pos, what


# ---- syntax tree -------------------------------------------------------------------------
# ("atom", regex_text) | ("cat", [nodes]) | ("alt", [nodes]) | ("rep", node, lo, hi|None)

_QUANT = re.compile(r"\{(\d*)(,?)(\d*)\}")
_CLASS_ESCAPES = set("dDwWsS")
_LITERAL_ESCAPES = {"t", "n", "r", "f", "v", "a"}


@dataclass
class _Parser:
    text: str
    pos: int = 0

    def error(self, what: str, pos: int | None = None) -> PatternError:
        return PatternError(self.text, self.pos if pos is None else pos, what)

    def peek(self, k: int = 1) -> str:
        return self.text[self.pos : self.pos + k]

    def parse(self) -> tuple:
        node = self.alternation()
        if self.pos < len(self.text):  # only an unmatched ')' stops the top level early
            raise self.error("unbalanced ')'")
        return node

    def alternation(self) -> tuple:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self) -> tuple:
        items = []
        while self.pos < len(self.text) and self.peek() not in "|)":
            start = self.pos
            atom = self.atom()
            if atom is not None:
                items.append(self.quantified(atom))
            elif self.quantifier() is not None:
                raise self.error("a quantifier after an anchor repeats nothing", start)
        return ("cat", items)

    def quantifier(self) -> tuple[int, int | None, int] | None:
        """(min, max or None, end position) of a quantifier at the cursor, else None.

        As in Python, ``{`` that does not open ``{m}``, ``{m,}``, ``{,n}`` or ``{m,n}`` is a
        literal (so ``a{}`` matches the text "a{}").
        """
        c = self.peek()
        if c and c in "*+?":
            lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
            return lo, hi, self.pos + 1
        m = _QUANT.match(self.text, self.pos)
        if not m or not (m.group(1) or m.group(2)):
            return None
        lo = int(m.group(1) or 0)
        hi = lo if not m.group(2) else (int(m.group(3)) if m.group(3) else None)
        if hi is not None and hi < lo:
            raise self.error(f"{{{lo},{hi}}}: the minimum exceeds the maximum")
        if max(lo, hi or 0) > MAX_REPEAT:
            raise self.error(f"repeat bound above {MAX_REPEAT}")
        return lo, hi, m.end()

    def quantified(self, node: tuple) -> tuple:
        q = self.quantifier()
        if q is None:
            return node
        lo, hi, self.pos = q
        if self.peek() == "?":
            self.pos += 1  # lazy: the same language for a whole-line match
        elif self.peek() == "+":
            raise self.error("possessive quantifiers are not supported")
        if self.quantifier() is not None:
            raise self.error("multiple repeat (a quantifier after a quantifier)")
        return ("rep", node, lo, hi)

    def atom(self) -> tuple | None:
        """The next atom, or None for an anchor that was consumed."""
        start, c = self.pos, self.peek()
        if self.quantifier() is not None:
            raise self.error("nothing to repeat")
        if c == "(":
            return self.group()
        if c == "[":
            return ("atom", self.bracket())
        if c == "\\":
            return self.escape()
        if c in "^$":
            self.anchor(c, start)
            return None
        self.pos += 1
        return ("atom", "." if c == "." else re.escape(c))

    def anchor(self, kind: str, start: int) -> None:
        at_start = start == 0 or self.text[:start] == "(?i)"
        at_end = self.pos + (2 if kind in "AZ" else 1) == len(self.text)
        if (kind in "^A" and not at_start) or (kind in "$Z" and not at_end):
            name = "\\" + kind if kind in "AZ" else kind
            raise self.error(f"anchor {name} inside the pattern (only at its ends: the whole "
                             "line must match)", start)
        self.pos += 2 if kind in "AZ" else 1

    def group(self) -> tuple:
        start = self.pos
        self.pos += 1
        if self.peek() == "?":
            if self.peek(2) == "?:":
                self.pos += 2
            elif self.peek(3) == "?P<":
                end = self.text.find(">", self.pos)
                if end < 0:
                    raise self.error("unterminated group name", start)
                self.pos = end + 1
            else:
                what = {"?=": "lookahead", "?!": "lookahead", "?<": "lookbehind",
                        "?P": "named backreference", "?#": "comment", "?(": "conditional"}
                raise self.error(f"{what.get(self.peek(2), 'inline flags or extension')} "
                                 f"'(?{self.text[self.pos + 1 : self.pos + 2]}' is not "
                                 "supported", start)
        node = self.alternation()
        if self.peek() != ")":
            raise self.error("missing ')'", start)
        self.pos += 1
        return node

    def bracket(self) -> str:
        start = self.pos
        i = start + 1
        if self.text[i : i + 1] == "^":
            i += 1
        if self.text[i : i + 1] == "]":
            i += 1  # a leading ']' is a literal
        while i < len(self.text) and self.text[i] != "]":
            i += 2 if self.text[i] == "\\" else 1
        if i >= len(self.text):
            raise self.error("unterminated character class", start)
        self.pos = i + 1
        return self.text[start : self.pos]

    def escape(self) -> tuple | None:
        start = self.pos
        c = self.text[start + 1 : start + 2]
        if not c:
            raise self.error("pattern ends with a backslash")
        if c in "AZ":
            self.anchor(c, start)
            return None
        if c.isdigit():
            raise self.error("backreferences and octal escapes are not supported", start)
        if c in "bB":
            raise self.error(f"word boundary \\{c} is not supported", start)
        lengths = {"x": 4, "u": 6, "U": 10}
        if c == "N":
            end = self.text.find("}", start)
            n = (end + 1 - start) if end > 0 else 2
        else:
            n = lengths.get(c, 2)
        if c not in _CLASS_ESCAPES | _LITERAL_ESCAPES | set(lengths) | {"N"} and c.isalpha():
            raise self.error(f"unknown escape \\{c}", start)
        self.pos = start + n
        return ("atom", self.text[start : self.pos])


# ---- Thompson NFA -----------------------------------------------------------------------


class _NFA:
    """States with epsilon edges and atom edges; atoms are indices into ``atoms``."""

    def __init__(self):
        self.eps: list[list[int]] = []
        self.moves: list[list[tuple[int, int]]] = []
        self.atoms: list[str] = []
        self.atom_index: dict[str, int] = {}

    def state(self) -> int:
        if len(self.eps) >= MAX_NFA_STATES:
            raise OverflowError
        self.eps.append([])
        self.moves.append([])
        return len(self.eps) - 1

    def build(self, node: tuple) -> tuple[int, int]:
        """(entry, exit) states of a fragment for ``node``."""
        kind = node[0]
        if kind == "atom":
            a, b = self.state(), self.state()
            k = self.atom_index.setdefault(node[1], len(self.atoms))
            if k == len(self.atoms):
                self.atoms.append(node[1])
            self.moves[a].append((k, b))
            return a, b
        if kind == "cat":
            a = b = self.state()
            for child in node[1]:
                ca, cb = self.build(child)
                self.eps[b].append(ca)
                b = cb
            return a, b
        if kind == "alt":
            a, b = self.state(), self.state()
            for child in node[1]:
                ca, cb = self.build(child)
                self.eps[a].append(ca)
                self.eps[cb].append(b)
            return a, b
        _, child, lo, hi = node
        a = b = self.state()
        for _ in range(lo):  # the mandatory copies
            ca, cb = self.build(child)
            self.eps[b].append(ca)
            b = cb
        if hi is None:  # then any number more
            ca, cb = self.build(child)
            self.eps[b].append(ca)
            self.eps[cb].append(ca)
            end = self.state()
            self.eps[b].append(end)
            self.eps[cb].append(end)
            return a, end
        end = self.state()
        for _ in range(hi - lo):  # optional copies, each may stop the repeat
            self.eps[b].append(end)
            ca, cb = self.build(child)
            self.eps[b].append(ca)
            b = cb
        self.eps[b].append(end)
        return a, end

    def closure(self, states: set[int]) -> frozenset[int]:
        stack, seen = list(states), set(states)
        while stack:
            for t in self.eps[stack.pop()]:
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
        return frozenset(seen)


def _minterms(atoms: Sequence[str], itos: Sequence[str], flags: int) -> list[tuple[list[int],
                                                                                 frozenset[int]]]:
    """Group class ids by which atoms accept their character: [(class ids, atom set)].

    Classes no atom accepts are left out; entries that are not one character never match.
    """
    compiled = [re.compile(a, flags) for a in atoms]
    groups: dict[frozenset[int], list[int]] = {}
    for i, s in enumerate(itos):
        if i == 0 or len(s) != 1:
            continue
        sig = frozenset(k for k, rx in enumerate(compiled) if rx.fullmatch(s))
        if sig:
            groups.setdefault(sig, []).append(i)
    return [(ids, sig) for sig, ids in groups.items()]


def parse(pattern: str) -> tuple[tuple, bool]:
    """(syntax tree, ignore_case) of ``pattern``; raises :class:`PatternError`."""
    ignore_case = pattern.startswith("(?i)")
    parser = _Parser(pattern, 4 if ignore_case else 0)
    return parser.parse(), ignore_case


def compile_pattern(pattern: str, itos: Sequence[str], ignore_case: bool = False) -> Automaton:
    """The automaton over class ids that accepts exactly the labellings whose text
    ``re.fullmatch(pattern, text)`` accepts (for texts the vocabulary can spell).

    Args:
        pattern: a regular expression in the supported subset (module docstring).
        itos: class id -> character (the blank and unused slots never match).
        ignore_case: as :data:`re.IGNORECASE` (a leading ``(?i)`` does the same).

    Raises:
        PatternError: unsupported or malformed syntax, or a pattern too large to compile.
    """
    tree, inline_i = parse(pattern)
    flags = re.IGNORECASE if (ignore_case or inline_i) else 0
    nfa = _NFA()
    try:
        entry, exit_ = nfa.build(tree)
    except OverflowError:
        raise PatternError(pattern, 0, f"more than {MAX_NFA_STATES} NFA states") from None
    try:
        terms = _minterms(nfa.atoms, itos, flags)
    except re.error as e:
        raise PatternError(pattern, 0, f"invalid atom ({e})") from None
    return _determinise(nfa, entry, exit_, terms, pattern)


def _determinise(nfa: _NFA, entry: int, exit_: int,
                 terms: list[tuple[list[int], frozenset[int]]], pattern: str) -> Automaton:
    start = nfa.closure({entry})
    index = {start: 0}
    sets = [start]
    edges: list[list[tuple[int, int]]] = []
    for current in sets:  # grows while iterating: breadth-first over reachable subsets
        out = []
        for ids, sig in terms:
            nxt = {t for s in current for k, t in nfa.moves[s] if k in sig}
            if not nxt:
                continue
            target = nfa.closure(nxt)
            if target not in index:
                if len(sets) >= MAX_DFA_STATES:
                    raise PatternError(pattern, 0, f"more than {MAX_DFA_STATES} DFA states")
                index[target] = len(sets)
                sets.append(target)
            out += [(i, index[target]) for i in ids]
        edges.append(out)
    return from_edges(edges, [exit_ in s for s in sets])
