"""Tokens of service-record texts in Chinese and English, the same for clustering and search.

Chinese runs are segmented with jieba (its dictionary ships in the package: nothing is downloaded);
everything else is split into lower-cased words. Numbers, single Latin letters and common function
words carry no problem and are dropped.
"""

from __future__ import annotations

import logging
import re
import threading
from functools import lru_cache

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORD = re.compile(r"[a-z][a-z0-9]+")

STOP_EN = frozenset("""
a an the and or but if then so to of in on at for from by with without about after before again
is are was were be been being am do does did done has have had having it its it's this that these
those i me my we our you your he she they them their his her not no yes can could would should will
just still also very too please thanks thank when while which who what where why how all any some
than there here up out over under into only own same such more most other got get gets one two
""".split())
STOP_ZH = frozenset("""
的 了 是 我 我们 你 你们 在 也 还 都 就 又 和 与 及 吗 呢 吧 啊 呀 请 一个 已经 没有 这个 那个 这 那 有 被 把
给 让 对 但是 但 而且 并且 然后 因为 所以 如果 还是 就是 不是 一下 一直 现在 今天 昨天 我家 您 您好 你好 谢谢
""".split())

_jieba_lock = threading.Lock()


@lru_cache(maxsize=1)
def _jieba() -> object:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    with _jieba_lock:
        jieba.initialize()
    return jieba


def language(text: str) -> str:
    """``zh`` when Chinese characters outnumber Latin letters, else ``en``."""
    return "zh" if len(_CJK.findall(text)) >= len(_LATIN.findall(text)) and _CJK.search(text) else "en"


def tokens(text: str, *, for_search: bool = False) -> list[str]:
    """Content words of ``text``: jieba words for Chinese runs, lower-cased words for the rest."""
    jieba = _jieba()
    out: list[str] = []
    pos = 0
    for match in _CJK_RUN.finditer(text):
        out += _words(text[pos:match.start()])
        cut = jieba.lcut_for_search(match.group()) if for_search else jieba.lcut(match.group())  # type: ignore[attr-defined]
        out += [w for w in cut if w not in STOP_ZH and (len(w) > 1 or for_search)]
        pos = match.end()
    out += _words(text[pos:])
    return out


def _words(chunk: str) -> list[str]:
    return [w for w in _WORD.findall(chunk.lower()) if w not in STOP_EN and not w.isdigit()]
