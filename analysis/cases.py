"""The case library's pure parts (rule 13): the typical-case generator and the BM25 search index.

Typical cases (``typical_cases``): for every problem of ``analysis/templates.py`` plus the case-only
problems below, in Chinese and English, a problem statement rendered from the templates, its cause
and the improvement measure that worked, with the outcome measured after it. 240 cases by default
(the policy asks for 200+); the same seed gives the same cases.

Search (``CaseIndex``): BM25 (bm25s) over problem, cause and measure, tokenised by analysis/text.py
(jieba's search mode for Chinese, so a query word matches inside longer compounds); filters by
category, team, source and language are a weight mask on the same index, so a filtered search costs
what an unfiltered one does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import bm25s
import numpy as np

from analysis.generator import render
from analysis.templates import PROBLEMS
from analysis.text import tokens


@dataclass(frozen=True)
class CaseDoc:
    id: str
    source: str
    problem: str
    cause: str
    measure: str
    outcome: str
    category: str = ""
    team: str = ""
    step: str = ""
    lang: str = ""


# Measures per planted problem (zh, en) and the case-only problems: (key, category, team, step, cause,
# zh problem, en problem, zh measure, en measure).
MEASURES: dict[str, tuple[str, str]] = {
    "leak_misdiagnosis": ("上门前按漏水检查清单逐项排查，复杂机型由资深师傅复核诊断",
                          "leak checklist before every visit; a senior technician reviews diagnoses of complex models"),
    "wrong_part": ("派单时按型号自动匹配配件，出发前扫码核对",
                   "parts matched to the model at dispatch, scanned before leaving"),
    "handoff_parcel": ("售后与物流共用交接单，包裹发出即推送运单号",
                       "one shared hand-off record; tracking number pushed on dispatch"),
    "double_charge": ("扣款接口加幂等校验，重复扣款自动退款",
                      "idempotency check on charges; duplicates refunded automatically"),
    "slow_response": ("高峰时段增加在线客服排班，超时自动升级",
                      "more chat agents at peak hours; overdue chats escalate"),
    "premature_closure": ("关单前必须客户确认，未确认不可结单", "closing needs the customer's confirmation"),
}
EXTRA: tuple[tuple[str, str, str, str, str, str, str, str, str], ...] = (
    ("install_delay", "after_sales", "after-sales", "intake", "scheduling_gap",
     "[空调|热水器]安装预约[推迟|改期]了{days}天，[没人通知|没有提前通知]",
     "[air conditioner|water heater] installation [postponed|rescheduled] by {days} days without notice",
     "预约改期自动短信通知客户", "customers get an automatic message when an appointment moves"),
    ("fridge_noise", "after_sales", "after-sales", "diagnosis", "product_defect",
     "冰箱[噪音很大|嗡嗡响]，[压缩机|风扇]异响[一直|反复]出现",
     "fridge [very noisy|humming loudly], [compressor|fan] noise keeps coming back",
     "压缩机异响按批次召回检修", "compressor noise repaired under a batch recall"),
    ("invoice_error", "billing", "billing", "resolution", "invoice_error",
     "[发票抬头|发票税号]开错，[重开|重新开具]发票要等{days}天",
     "invoice [title|tax number] wrong, reissue takes {days} days",
     "开票前由客户在线确认抬头和税号", "customers confirm invoice title and tax number online before issue"),
    ("rude_agent", "complaint", "after-sales", "communication", "attitude",
     "[客服|热线]态度[恶劣|很差]，[挂断电话|不耐烦]",
     "[agent|hotline] was rude and [hung up|impatient]",
     "服务态度专项培训并抽查录音", "service-attitude training and spot checks of call recordings"),
)


def typical_cases(count: int = 240, seed: int = 13) -> list[CaseDoc]:
    """``count`` typical cases, round robin over the problems and both languages."""
    rnd = random.Random(seed)
    kinds: list[tuple[str, str, str, str, str, tuple[str, ...], tuple[str, ...], str, str]] = [
        (p.key, p.category, p.teams[0], p.step, p.root_cause, p.zh, p.en, *MEASURES[p.key]) for p in PROBLEMS]
    kinds += [(k, c, t, s, cause, (zh,), (en,), mzh, men) for k, c, t, s, cause, zh, en, mzh, men in EXTRA]
    cases = []
    for i in range(count):
        key, category, team, step, cause, zh, en, mzh, men = kinds[i % len(kinds)]
        lang = "zh" if (i // len(kinds)) % 2 == 0 else "en"
        problem = render(rnd.choice(zh if lang == "zh" else en), lang, rnd)
        before, after = rnd.randint(8, 20), rnd.randint(2, 7)
        outcome = (f"{cause} 相关投诉占比由 {before}% 降至 {after}%" if lang == "zh"
                   else f"share of {cause} complaints fell from {before}% to {after}%")
        cases.append(CaseDoc(id=f"seed:{i + 1:04d}", source="seed", problem=problem, cause=cause,
                             measure=mzh if lang == "zh" else men, outcome=outcome, category=category, team=team,
                             step=step, lang=lang))
    return cases


def case_tokens(doc: CaseDoc) -> list[str]:
    return tokens(f"{doc.problem} {doc.cause.replace('_', ' ')} {doc.measure}", for_search=True)


class CaseIndex:
    """BM25 over a fixed list of cases; build once, search many times."""

    FILTERS = ("category", "team", "source", "lang")

    def __init__(self, docs: list[CaseDoc], corpus_tokens: list[list[str]] | None = None) -> None:
        self.docs = docs
        self.bm25 = bm25s.BM25()
        if docs:
            self.bm25.index(corpus_tokens if corpus_tokens is not None else [case_tokens(d) for d in docs],
                            show_progress=False)
        # Filter columns as integer codes: comparing 100,000 ints is 50x cheaper than 100,000 strings.
        self._codes: dict[str, tuple[dict[str, int], np.ndarray]] = {}
        for name in self.FILTERS:
            values: dict[str, int] = {}
            codes = np.array([values.setdefault(getattr(d, name), len(values)) for d in docs], dtype=np.int32)
            self._codes[name] = (values, codes)
        self._position = {d.id: i for i, d in enumerate(docs)}

    def search(self, query: str, *, k: int = 10, exclude: str | None = None,
               **filters: str | None) -> list[tuple[CaseDoc, float]]:
        """The ``k`` best cases for ``query`` (score > 0) that match every given filter."""
        words = tokens(query, for_search=True)
        if not self.docs or not words:
            return []
        mask = np.ones(len(self.docs), dtype=np.float32)
        for name, value in filters.items():
            if value is not None:
                known, codes = self._codes[name]
                if value not in known:
                    return []
                mask *= codes == known[value]
        if exclude is not None and exclude in self._position:
            mask[self._position[exclude]] = 0
        if not mask.any():
            return []
        # Scores of every case, masked, then the top k: bm25s' own retrieve starts a thread pool per
        # call, which cost 4 ms of a 5 ms search over 100,000 cases (docs/benchmarks.md).
        scores = np.asarray(self.bm25.get_scores(words), dtype=np.float32) * mask
        k = min(k, len(self.docs))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        ranked = sorted(top.tolist(), key=lambda i: (-float(scores[i]), i))
        return [(self.docs[i], float(scores[i])) for i in ranked if scores[i] > 0]
