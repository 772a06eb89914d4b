"""Hypothesis strategies for hostile and random input, shared by the tests and fuzz/run.py."""

from __future__ import annotations

from hypothesis import strategies as st

NAMES = ["x", "y", "w", "b", "θ", "x1", "e", "pi", "π", "ｘ", "__x__", "lambda", "import"]
CALLS = ["sin", "exp", "log", "sqrt", "abs", "sigmoid", "relu", "softplus", "tanh", "atan2",
         "max", "erf", "Heaviside", "log10", "acosh", "open", "eval", "__import__",
         "ｏｐｅｎ"]  # fmt: skip
NUMBERS = ["0", "1", "2", "3", "0.5", "1e-3", "10", "9", "1e308", "1e-320", "1.5", "99999",
           "2.0", "1e400", "0.0", "１２", "10" * 40]  # fmt: skip
BINARY = ["+", "-", "*", "/", "^", "**", "", " ", "×", "−", "÷"]
SEPARATORS = ["", " ", ","]

numbers = st.sampled_from(NUMBERS)
names = st.sampled_from(NAMES)


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map("".join),
        st.tuples(st.sampled_from(["-", "+", "--"]), children).map("".join),
        children.map(lambda c: f"({c})"),
        st.tuples(st.sampled_from(CALLS), st.lists(children, min_size=1, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"
        ),
        st.tuples(children, st.sampled_from(["²", "³", "^-", "^(", ")"])).map("".join),
    )


expressions = st.recursive(st.one_of(numbers, names), _extend, max_leaves=25)
"""Text from symgrad's grammar, and near it: unknown functions, odd numbers, stray operators."""

ALPHABET = "xyzwb0123456789.eE+-*/^()[]{},;:'\"\\_= \t\n!@#$%&|<>?`~²³θπｏｐｅｎ\u202e\x00"
raw_text = st.one_of(
    st.text(alphabet=ALPHABET, max_size=60),
    st.text(max_size=40),
    st.tuples(expressions, st.text(alphabet=ALPHABET, max_size=5), expressions).map("".join),
)
"""Text from anywhere: punctuation, control characters, any unicode."""
