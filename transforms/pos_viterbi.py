"""jieba's part-of-speech Viterbi, the same decisions computed with NumPy: the extractor's hot loop.

Why: on real reports the extractor spends most of its time in ``jieba.posseg``'s HMM,
which tags the characters that its dictionary does not know (names, new terms). jieba
runs that Viterbi in pure Python: for each character, a Python ``max`` over tuples for
each pair of about twenty states, a few million tuples per megabyte of text. This
module computes the same recurrence over arrays, state pairs at once.

It is a drop-in, not an approximation: the sums are the same floating-point additions in
the same order ((previous + transition) + emission), the states are visited in the same
sorted order, and ties go to the greater previous state exactly as Python's ``max``
over ``(probability, state)`` tuples breaks them. ``tests/test_pos_viterbi.py`` compares
the two on thousands of windows of real reports, and ``install`` refuses to take over
unless jieba's own function is the one it replaces (jieba is pinned; a new jieba with a
changed Viterbi keeps its own).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

MIN_FLOAT = -3.14e100  # jieba.posseg.viterbi's value for an emission it has never seen
State = tuple[str, str]


class Viterbi:
    """jieba's ``viterbi(obs, states, start_p, trans_p, emit_p)`` for one fixed model, over arrays."""

    def __init__(
        self,
        char_states: Mapping[str, Sequence[State]],
        start_p: Mapping[State, float],
        trans_p: Mapping[State, Mapping[State, float]],
        emit_p: Mapping[State, Mapping[str, float]],
    ) -> None:
        self.model = (char_states, start_p, trans_p, emit_p)
        self.states: list[State] = sorted(trans_p)  # index order = Python's tuple order
        index = {s: i for i, s in enumerate(self.states)}
        n = len(self.states)
        self.trans = np.full((n, n), -np.inf)
        self.follows = np.zeros((n, n), dtype=bool)  # y is a key of trans_p[x]
        for x, row in trans_p.items():
            for y, p in row.items():
                self.trans[index[x], index[y]] = p
                self.follows[index[x], index[y]] = True
        self.has_next = np.array([len(trans_p[s]) > 0 for s in self.states])
        self.start = np.array([start_p.get(s, -np.inf) for s in self.states])
        self._index = index
        self._emit_p = emit_p
        self._char_states = char_states
        self._emit: dict[str, np.ndarray] = {}
        self._allowed: dict[str, np.ndarray] = {}

    def _emission(self, ch: str) -> np.ndarray:
        e = self._emit.get(ch)
        if e is None:
            e = np.array([self._emit_p[s].get(ch, MIN_FLOAT) for s in self.states])
            self._emit[ch] = e
        return e

    def _states_of(self, ch: str) -> np.ndarray:
        m = self._allowed.get(ch)
        if m is None:
            listed = self._char_states.get(ch)
            if listed is None:
                m = np.ones(len(self.states), dtype=bool)
            else:
                m = np.zeros(len(self.states), dtype=bool)
                m[[self._index[s] for s in listed]] = True
            self._allowed[ch] = m
        return m

    def __call__(self, obs: str, *_: Any) -> tuple[float, list[State]]:
        """``(probability, states)`` of the best path, as jieba's function returns them."""
        n = len(self.states)
        alive = self._states_of(obs[0])
        value = np.full(n, -np.inf)
        value[alive] = self.start[alive] + self._emission(obs[0])[alive]
        back: list[np.ndarray] = []
        for ch in obs[1:]:
            prev = np.flatnonzero(alive & self.has_next)
            expect = self.follows[prev].any(axis=0)
            here = self._states_of(ch) & expect
            if not here.any():
                here = expect if expect.any() else np.ones(n, dtype=bool)
            if prev.size == 0:
                raise ValueError("max() arg is an empty sequence")  # as jieba's own fails
            cols = np.flatnonzero(here)
            scores = (value[prev][:, None] + self.trans[np.ix_(prev, cols)]) + self._emission(ch)[cols][
                None, :
            ]
            # Python's max over (probability, state) keeps the greatest state among equals:
            # the last row reaching the maximum, as prev is in state order.
            last = prev.size - 1 - np.argmax(scores[::-1], axis=0)
            step = np.full(n, -1)
            step[cols] = prev[last]
            value = np.full(n, -np.inf)
            value[cols] = scores[last, np.arange(cols.size)]
            back.append(step)
            alive = here
        ends = np.flatnonzero(alive)
        best = ends[len(ends) - 1 - int(np.argmax(value[ends][::-1]))]
        prob = float(value[best])
        route = [best]
        for step in reversed(back):
            route.append(int(step[route[-1]]))
        return prob, [self.states[i] for i in reversed(route)]


def install(posseg: ModuleType) -> bool:
    """Make ``posseg`` (``jieba.posseg``) use the array Viterbi; True when it does.

    Only when ``posseg.viterbi`` is still jieba's own function: anything else (already
    installed, or another jieba) is left as it is.
    """
    own = posseg.viterbi
    if isinstance(own, Viterbi):
        return True
    if getattr(own, "__module__", "") != "jieba.posseg.viterbi":
        return False
    posseg.viterbi = Viterbi(posseg.char_state_tab_P, posseg.start_P, posseg.trans_P, posseg.emit_P)
    return True
