"""The text side of thread search: normalisation, bigrams and query terms (pure, no database).

Chinese has no spaces between words, so the search index keeps every pair of consecutive
characters (a bigram) of the normalised text: any substring of two or more characters of a
text has all its bigrams in the text's set, so the threads holding every bigram of a term are
the candidates, and a check of the normalised text confirms them (see models.search_store).
"""
from __future__ import annotations

import unicodedata

from monitor.errors import SpokeswatchError

GRAM_SHIFT = 21  # code points are below 2**21: a bigram is one integer below 2**42 (a BIGINT)


class SearchError(SpokeswatchError):
    """A search query that cannot be run (empty, or a term shorter than two characters)."""


def normalise(text: str) -> str:
    """``text`` in the form the index and the matching use: NFKC (full-width letters, digits and
    punctuation become their usual forms) and case-folded."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def grams(text: str) -> set[int]:
    """The bigrams of the normalised text: each pair of consecutive characters that are both not
    whitespace, as ``(ord(a) << 21) | ord(b)``."""
    out: set[int] = set()
    for chunk in normalise(text).split():
        if len(chunk) > 1:
            codes = [ord(ch) for ch in chunk]
            out.update((a << GRAM_SHIFT) | b for a, b in zip(codes, codes[1:]))
    return out


def query_terms(q: str) -> list[str]:
    """The normalised terms of a query, split on whitespace, duplicates dropped, order kept.

    Raises SearchError when the query has no term or a term shorter than two characters
    (a single character is too common to search for, and the index holds pairs)."""
    terms = list(dict.fromkeys(normalise(q or "").split()))
    if not terms:
        raise SearchError("the search query is empty: give one or more words of two or more characters")
    short = [t for t in terms if len(t) < 2]
    if short:
        listed = ", ".join(f"'{t}'" for t in short)
        raise SearchError(f"every search term needs two or more characters; too short: {listed} "
                          "(terms are separated by spaces, and a thread must contain every one)")
    return terms
