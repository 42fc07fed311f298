"""Clustering of one language's ticket texts: TF-IDF over jieba/word tokens, k-means with a fixed seed.

k is the one of 2..max_clusters with the best silhouette (cosine) on at most ``SILHOUETTE_SAMPLE``
texts; the same texts and seed give the same clusters. Each cluster is named by the terms with the
largest weight in its centroid.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import silhouette_score
from threadpoolctl import threadpool_limits

from analysis.text import tokens

SILHOUETTE_SAMPLE = 2000
TOP_TERMS = 6


def _identity(doc: list[str]) -> list[str]:
    return doc


def cluster_language(texts: list[str], lang: str, max_clusters: int, seed: int) -> tuple[list[int], list[list[str]]]:
    """Cluster labels (0..k-1) of ``texts`` and each cluster's top terms.

    One thread: on a shared machine OpenMP's spinning threads made each k-means fit 10x slower,
    and the daily run is not latency-bound.
    """
    with threadpool_limits(limits=1):
        return _cluster(texts, max_clusters, seed)


def _cluster(texts: list[str], max_clusters: int, seed: int) -> tuple[list[int], list[list[str]]]:
    docs = [tokens(t) for t in texts]
    if len(texts) < 4:
        return [0] * len(texts), [_top_terms_of(docs)]
    vectorizer = TfidfVectorizer(analyzer=_identity, min_df=2 if len(texts) >= 20 else 1, max_df=0.5,
                                 sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(docs)
    except ValueError:  # no term left (every text empty after the stop words)
        return [0] * len(texts), [[]]
    vocab = np.array(vectorizer.get_feature_names_out())
    rng = np.random.default_rng(seed)
    probe_rows = rng.choice(len(texts), size=min(len(texts), SILHOUETTE_SAMPLE), replace=False)
    probe = matrix[np.sort(probe_rows)]
    best: tuple[float, int] | None = None
    for k in range(2, min(max_clusters, len(texts) - 1) + 1):
        labels = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(probe)
        if len(set(labels)) < 2:
            continue
        score = float(silhouette_score(probe, labels, metric="cosine", random_state=seed))
        if best is None or score > best[0] + 1e-9:
            best = (score, k)
    k = best[1] if best else 1
    model = KMeans(n_clusters=k, n_init=5, random_state=seed).fit(matrix)
    labels = [int(x) for x in model.labels_]
    # Order clusters by size (largest first) so labels read the same from run to run.
    sizes = np.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda c: (-sizes[c], c))
    relabel = {old: new for new, old in enumerate(order)}
    terms = [[str(t) for t in vocab[np.argsort(-model.cluster_centers_[old])[:TOP_TERMS]]] for old in order]
    return [relabel[x] for x in labels], terms


def _top_terms_of(docs: list[list[str]]) -> list[str]:
    counts: dict[str, int] = {}
    for doc in docs:
        for t in doc:
            counts[t] = counts.get(t, 0) + 1
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TERMS]]
