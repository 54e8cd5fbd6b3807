"""Cross-validation of stacking and specialist ideas on the TRAINING part of zhzw only.

The experiments of docs/benchmarks.md ("Routing", "Tried … and dropped", 2026-11-27) that
go beyond one linear model; none of them reached the engine. test.csv is never read.

    OMP_NUM_THREADS=1 .venv/bin/python bench/routing_stack_cv.py [--lsa 300] [--svc-c 10]
        [--embeddings w2v|fasttext]   (needs gensim, not a project dependency)

For each of the 3 outer folds (seed 3, as bench/routing_tune.py) the engine's NB-SVM and
the other base models are fitted on the training part; their out-of-fold decision values
on it (3 inner folds, seed 0; the vocabulary, idf and LSA of the whole training part) train
the combiners, which are then scored on the outer fold:

- LSA (TruncatedSVD of the engine's TF-IDF vectors) + RBF SVM, alone and stacked;
- z-scored averages (fixed weights, or a weight chosen on the inner folds), a logistic
  regression and a gradient-boosted meta-learner on the decision values;
- per-class score offsets tuned for macro-F1 on the inner folds;
- one-vs-one NB-SVM specialists (re-deciding between the top two labels, or voting);
- quadratic and RBF kernel SVMs on the full sparse vectors (precomputed cosine kernels);
- optionally document vectors from word2vec / fastText trained on the training part's jieba
  words (tf-idf weighted means) + a logistic regression or an RBF SVM, averaged.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import math
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.decomposition import TruncatedSVD  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.preprocessing import normalize  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

from xianghu.routing import engine as E  # noqa: E402

DATA = Path("/work/shared/data/zhzw/train.csv")


def macro(y: np.ndarray, scores: np.ndarray) -> float:
    return float(f1_score(y, scores.argmax(1), average="macro"))


def zs(a: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return (a - ref.mean()) / ref.std()


def tune_offsets(s: np.ndarray, y: np.ndarray) -> np.ndarray:
    off = np.zeros(s.shape[1])
    best = macro(y, s)
    for _round in range(3):
        for c in range(s.shape[1]):
            for d in np.linspace(-0.5, 0.5, 41):
                o = off.copy()
                o[c] = d
                f = macro(y, s + o)
                if f > best + 1e-9:
                    best, off = f, o
    return off


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--train", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--lsa", type=int, default=300)
    parser.add_argument("--svc-c", type=float, default=10.0)
    parser.add_argument("--embeddings", choices=("w2v", "fasttext"))
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with args.train.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    config = E.EngineConfig()
    featurizer = E.Featurizer(config)
    docs = [featurizer.blocks(E.prepare(r["text"]).text) for r in rows]
    classes = sorted({r["label"] for r in rows})
    y = np.array([classes.index(r["label"]) for r in rows])
    n_labels = len(classes)

    def nbsvm(x, yy, xt):
        coef, b = E._fit(config, x, yy, np.ones(len(yy)), n_labels)
        return np.asarray(xt @ coef.T) + b

    def lsa_svc(svd, x, yy, xt):
        z, zt = normalize(svd.transform(x)), normalize(svd.transform(xt))
        svc = SVC(C=args.svc_c, kernel="rbf", gamma="scale", class_weight="balanced")
        return svc.fit(z, yy).decision_function(zt)

    results: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    outer = StratifiedKFold(n_splits=3, shuffle=True, random_state=args.seed)
    for n, (tr, te) in enumerate(outer.split(docs, y)):
        started = time.perf_counter()
        vocabulary, idf = E._fit_vocabulary([docs[i] for i in tr], config)
        x = E._matrix(docs, vocabulary, idf, config)
        xtr, ytr, yte = x[tr], y[tr], y[te]
        svd = TruncatedSVD(args.lsa, random_state=0).fit(xtr)
        nb_te, sv_te = nbsvm(xtr, ytr, x[te]), lsa_svc(svd, xtr, ytr, x[te])
        nb_oof, sv_oof = np.zeros((len(tr), n_labels)), np.zeros((len(tr), n_labels))
        for a, b in StratifiedKFold(n_splits=3, shuffle=True, random_state=0).split(tr, ytr):
            nb_oof[b] = nbsvm(xtr[a], ytr[a], xtr[b])
            sv_oof[b] = lsa_svc(svd, xtr[a], ytr[a], xtr[b])
        record("NB-SVM (the engine)", macro(yte, nb_te))
        record(f"LSA {args.lsa} + RBF SVM", macro(yte, sv_te))
        for w in (0.3, 0.5):
            record(
                f"z-average, SVM weight {w}",
                macro(yte, (1 - w) * zs(nb_te, nb_oof) + w * zs(sv_te, sv_oof)),
            )
        grid = np.linspace(0, 1, 21)
        w = max(
            grid, key=lambda w: macro(ytr, (1 - w) * zs(nb_oof, nb_oof) + w * zs(sv_oof, sv_oof))
        )
        record(
            "z-average, weight from inner folds",
            macro(yte, (1 - w) * zs(nb_te, nb_oof) + w * zs(sv_te, sv_oof)),
        )
        f_oof, f_te = np.hstack([nb_oof, sv_oof]), np.hstack([nb_te, sv_te])
        for c in (0.1, 1.0, 10.0):
            meta = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(f_oof, ytr)
            record(
                f"logistic meta-learner C={c}",
                float(f1_score(yte, meta.predict(f_te), average="macro")),
            )
        gb = HistGradientBoostingClassifier(
            learning_rate=0.05,
            max_iter=200,
            max_leaf_nodes=15,
            class_weight="balanced",
            random_state=0,
        ).fit(f_oof, ytr)
        record(
            "gradient-boosted meta-learner", float(f1_score(yte, gb.predict(f_te), average="macro"))
        )
        record("NB-SVM + per-class offsets", macro(yte, nb_te + tune_offsets(nb_oof, ytr)))
        # one-vs-one specialists
        pair: dict[tuple[int, int], np.ndarray] = {}
        for i, j in itertools.combinations(range(n_labels), 2):
            m = (ytr == i) | (ytr == j)
            c2, b2 = E._fit(config, xtr[m], (ytr[m] == j).astype(int), np.ones(int(m.sum())), 2)
            pair[(i, j)] = np.asarray(x[te] @ (c2[1] - c2[0])).ravel() + (b2[1] - b2[0])
        top2 = np.argsort(-nb_te, axis=1)[:, :2]
        refined = np.array(
            [c if pair[(a, c)][k] > 0 else a for k, (a, c) in enumerate(np.sort(top2, axis=1))]
        )
        record(
            "top-2 re-decided by a one-vs-one NB-SVM",
            float(f1_score(yte, refined, average="macro")),
        )
        votes = np.zeros_like(nb_te)
        for (i, j), s in pair.items():
            votes[:, j] += s > 0
            votes[:, i] += s <= 0
        record("one-vs-one NB-SVM voting", macro(yte, votes + 1e-3 * nb_te))
        # kernel SVMs on the full sparse vectors (cosine kernels: the vectors are unit length)
        k_tr, k_te = (xtr @ xtr.T).toarray(), (x[te] @ xtr.T).toarray()
        for name, kernel in (
            ("quadratic", lambda k: (1 + k) ** 2),
            ("RBF", lambda k: np.exp(-2 * (1 - k))),
        ):
            svc = SVC(C=args.svc_c, kernel="precomputed", class_weight="balanced")
            d = svc.fit(kernel(k_tr), ytr).decision_function(kernel(k_te))
            record(f"{name}-kernel SVM on the sparse vectors", macro(yte, d))
            record(
                f"{name}-kernel SVM, z-average weight 0.3",
                macro(yte, 0.7 * zs(nb_te, nb_te) + 0.3 * zs(d, d)),
            )
        if args.embeddings:
            from gensim.models import FastText, Word2Vec

            words = [[w[2:] for w in d.get("w", []) if "_" not in w] for d in docs]
            sents = [words[i] for i in tr]
            kind = Word2Vec if args.embeddings == "w2v" else FastText
            extra = {} if args.embeddings == "w2v" else {"min_n": 1, "max_n": 3}
            wv = kind(
                sents,
                vector_size=150,
                window=5,
                min_count=2,
                sg=1,
                epochs=15,
                workers=1,
                seed=1,
                **extra,
            ).wv
            df = Counter(w for s in sents for w in set(s))
            n_sents = len(sents)

            def vec(ws: list[str], wv=wv, df=df, n_docs=n_sents) -> np.ndarray:
                v = np.zeros(150)
                for w, c in Counter(ws).items():
                    if args.embeddings == "w2v" and w not in wv:
                        continue
                    v += (1 + math.log(c)) * math.log((1 + n_docs) / (1 + df.get(w, 0))) * wv[w]
                norm = np.linalg.norm(v)
                return v / norm if norm else v

            v = np.array([vec(ws) for ws in words])
            for name, clf in (
                (
                    "logistic regression",
                    LogisticRegression(C=10, max_iter=3000, class_weight="balanced"),
                ),
                ("RBF SVM", SVC(C=10, class_weight="balanced")),
            ):
                d = clf.fit(v[tr], ytr).decision_function(v[te])
                record(f"{args.embeddings} + {name}", macro(yte, d))
                for w in (0.2, 0.3):
                    record(
                        f"{args.embeddings} + {name}, z-average weight {w}",
                        macro(yte, (1 - w) * zs(nb_te, nb_te) + w * zs(d, d)),
                    )
        print(f"fold {n} ({time.perf_counter() - started:.0f} s)", flush=True)
    for name, values in results.items():
        print(
            f"{name:45s} mean={np.mean(values):.4f} folds=" + " ".join(f"{v:.4f}" for v in values)
        )


if __name__ == "__main__":
    main()
