"""Pure analysis code: the seeded history generator, root-cause analysis, the case library's search.

No I/O here: the read model (readmodel/analysis.py) feeds rows in and stores what comes out, the
activities (activities/analysis.py) run it on a schedule, tests and benchmarks call it directly.
Nothing here downloads anything: jieba's dictionary ships in its wheel, scikit-learn and bm25s fit
on our own data.
"""
