"""Search tokens of manual text, the same for indexing and for queries, on SQLite and PostgreSQL alike.

English words are lower-cased and Snowball-stemmed; Chinese runs are segmented by jieba (its dictionary ships in
the wheel, so this works offline); tags and model numbers such as `TIC-101`, `FV-101A` or `M3BP 315-SMC4` become one
token with the separators dropped (`tic101`), so `TIC-101`, `tic101` and `TIC_101` all find the same passages and
`TIC-1011` does not. Tokens are plain letters, digits and CJK ideographs, which both full-text engines keep whole.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PIECES = re.compile(
    rf"(?P<compound>[a-z0-9]+(?:[-_./][a-z0-9]+)+)|(?P<cjk>[{_CJK}]+)|(?P<word>[a-z0-9]+)", re.IGNORECASE
)
_HAS_LETTER = re.compile(r"[a-z]")
_HAS_DIGIT = re.compile(r"[0-9]")
_SEPARATORS = re.compile(r"[-_./]")

STOPWORDS = frozenset(
    "a an and are as at be by can do does for from has have how i if in into is it its me my of on or our should "
    "that the their then there these this to was we what when where which who why will with you your please tell "
    "about mean means".split()
) | frozenset(
    "的 了 是 在 和 与 及 或 吗 呢 吧 啊 什么 怎么 怎样 如何 哪 哪些 哪个 这 这个 那 那个 要 应 应该 应当 请 请问 "
    "我 我们 你 他 它 一下 时 时候 一个 有 没有 该 为 把 被 对 就 都 也 还 么 呀 嘛".split()
)

_stemmer_lock = threading.Lock()
_jieba_lock = threading.Lock()
_jieba = None


def _segmenter():
    """jieba, loaded once per process (≈ 1 s to build its prefix dictionary; cached by jieba afterwards)."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _jieba = jieba
    return _jieba


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    with _stemmer_lock:  # snowball stemmers keep state between calls
        return _english().stemWord(word)


@lru_cache(maxsize=1)
def _english():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def _compound_tokens(compound: str) -> list[str]:
    """`TIC-101.HH` -> tic101hh, tic101, hh: the whole tag, the tag without its condition, and the condition word.
    Compounds without both letters and digits (high-high, 2024-05-01, 3.5) are ordinary words."""
    parts = compound.split(".")
    if not (_HAS_LETTER.search(compound) and _HAS_DIGIT.search(compound)):
        return [_word(w) for w in re.findall(r"[a-z0-9]+", compound)]
    tokens = [_SEPARATORS.sub("", compound)]
    if len(parts) > 1:
        for part in parts:
            joined = _SEPARATORS.sub("", part)
            tokens.append(_word(joined))
    return tokens


def tokenize(text: str) -> list[str]:
    """The search tokens of `text`, in order, stopwords left out."""
    tokens: list[str] = []
    for match in _PIECES.finditer(text.casefold()):
        if match.lastgroup == "compound":
            tokens += _compound_tokens(match.group())
        elif match.lastgroup == "cjk":
            tokens += _segmenter().cut_for_search(match.group())
        else:
            tokens.append(_word(match.group()))
    return [t for t in tokens if t and t not in STOPWORDS]


def _word(word: str) -> str:
    """A stopword as itself (dropped by the caller), a word with digits as it is, any other word stemmed."""
    return word if word in STOPWORDS or _HAS_DIGIT.search(word) else _stem(word)


def is_tag_like(token: str) -> bool:
    """Whether a token is a tag or model number (letters and digits): such tokens decide a search when present."""
    return bool(_HAS_LETTER.search(token) and _HAS_DIGIT.search(token))


def tag_token(tag: str) -> str | None:
    """The one token a tag or model number is indexed under, or None when `tag` has none (e.g. only punctuation)."""
    tokens = [t for t in tokenize(tag) if t]
    return tokens[0] if tokens else None
