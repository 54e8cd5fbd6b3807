"""The routing engine: a linear text classifier for Chinese call texts (no Django here).

A text becomes a sparse vector of five blocks, each TF-IDF weighted (sublinear tf) and
L2-normalised on its own, then scaled by the block's weight:

- ``c``: character 1–3-grams of the normalised text (robust to segmentation errors and to
  the preprocessed, stop-word-free texts of public data sets);
- ``w``: jieba words and word bigrams (a user dictionary from the list keeps list terms
  such as 秸秆禁烧 whole);
- ``h``: character n-grams of the first characters (the title, where the gist usually is);
- ``k``: curated phrases (item names and keywords) found in the text;
- ``t``: the township, so that history can teach local habits.

Large training sets (a public data set, a county with a long history) keep every feature
seen in two texts or more and use an NB-SVM: one linear SVM per label on the features
scaled by their naive-Bayes log-count ratio for that label. Small ones (a list's own text
and a few examples per item) use a Crammer–Singer multi-class linear SVM. Class weights are
balanced; either way the model is one linear map, and a softmax with a temperature fitted
on out-of-fold scores turns its scores into confidences.

A trained model is plain arrays (vocabulary, idf, weights) saved as ``.npz`` without pickle,
so loading a model never runs code, and a schema number in it tells old files apart.
docs/routing.md explains the choices and the figures behind them.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import pairwise
from typing import Any

import numpy as np
import scipy.sparse as sp

# Bump when the features or the file layout change: models with another schema are not
# loaded (the caller retrains or answers "no suggestion").
SCHEMA_VERSION = 2

# A longer text is cut to this many characters (after normalisation) before routing.
MAX_CHARS = 2000

# The pseudo-label of texts that belong to no item of the list.
OUTSIDE = "__outside__"

BLOCKS = ("c", "w", "h", "k", "t")

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_CLAUSE = re.compile(r"[，。；;！!？?\n\r,、：:]+")

logger = logging.getLogger(__name__)


class ModelSchemaError(Exception):
    """The stored model was written by another version of the engine (or is damaged)."""


class TrainingError(Exception):
    """The training data cannot make a model (too few examples or labels)."""


# ---- text ------------------------------------------------------------------------------


def _keep(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "LNM"


def normalise(text: str) -> str:
    """NFKC, lower case, letters, digits and marks only (punctuation, symbols and spaces
    go: the public data sets have none, and n-grams across them are noise)."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(ch for ch in text if _keep(ch))


@dataclass(frozen=True)
class PreparedText:
    text: str  # normalised and capped
    truncated: bool
    length: int  # characters after normalisation, before the cap
    cjk: int  # Chinese characters in the normalised text
    distinct: int  # different characters in the normalised text


def prepare(text: str, *, max_chars: int = MAX_CHARS) -> PreparedText:
    norm = normalise(text)
    return PreparedText(
        text=norm[:max_chars],
        truncated=len(norm) > max_chars,
        length=len(norm),
        cjk=len(_CJK.findall(norm)),
        distinct=len(set(norm)),
    )


def clauses(text: str) -> list[str]:
    """The clauses of a raw text (split at punctuation), for explanations."""
    return [c.strip() for c in _CLAUSE.split(text or "") if c.strip()]


# ---- segmentation ----------------------------------------------------------------------


class Segmenter:
    """jieba word segmentation with an optional user dictionary.

    jieba's dictionary is loaded once per process (about a second). A model with user
    words gets its own tokenizer sharing that dictionary's entries (a dict copy, ~30 ms),
    so one county's words never change how another county's texts are cut, and jieba's
    global tokenizer is left alone.
    """

    _base: Any = None
    _lock = threading.Lock()
    _cache: dict[tuple[str, ...], Any] = {}

    def __init__(self, user_words: Iterable[str] = ()) -> None:
        self.user_words = tuple(sorted({w for w in user_words if len(w) >= 2}))
        self._tokenizer = self._tokenizer_for(self.user_words)

    @classmethod
    def base(cls) -> Any:
        with cls._lock:
            if cls._base is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                cls._base = tokenizer
            return cls._base

    @classmethod
    def _tokenizer_for(cls, words: tuple[str, ...]) -> Any:
        base = cls.base()
        if not words:
            return base
        with cls._lock:
            found = cls._cache.get(words)
            if found is not None:
                return found
            import jieba

            tokenizer = jieba.Tokenizer()
            tokenizer.FREQ = dict(base.FREQ)
            tokenizer.total = base.total
            tokenizer.initialized = True
            for word in words:
                tokenizer.add_word(word)
            if len(cls._cache) >= 8:  # a few counties per process at most
                cls._cache.pop(next(iter(cls._cache)))
            cls._cache[words] = tokenizer
            return tokenizer

    def cut(self, text: str) -> list[str]:
        return [w for w in self._tokenizer.lcut(text, HMM=False) if w.strip()]


# ---- features --------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineConfig:
    """Hyper-parameters; the defaults were chosen by cross-validation on the training part
    of the zhzw data set only (bench/routing_tune.py, docs/routing.md)."""

    char_min: int = 1
    char_max: int = 3
    word_bigrams: bool = True
    use_words: bool = True
    head_chars: int = 25
    w_char: float = 1.0
    w_word: float = 1.0
    w_head: float = 0.6
    w_phrase: float = 0.15
    w_context: float = 0.3
    min_df: int = 2
    max_df: float = 0.5
    k_best: int = 0  # keep only the k features of best chi-square score (0: all)
    # "nbsvm" (one SVM per label on log-count-ratio scaled features), "crammer_singer"
    # (one multi-class SVM) or "ovr" (one plain SVM per label)
    classifier: str = "nbsvm"
    c: float = 1.0
    nb_alpha: float = 1.0  # smoothing of the NB-SVM's log-count ratios
    # Below this many training texts (a list's own text and a few examples per item) the
    # model keeps every feature seen once or more, uses a Crammer–Singer SVM, regularises
    # harder and leans less on words; cross-validated on the seed examples of the demo
    # list (docs/routing.md).
    small_corpus: int = 2000
    small_classifier: str = "crammer_singer"
    small_c: float = 0.2
    small_w_word: float = 0.5
    max_chars: int = MAX_CHARS

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, data: str) -> EngineConfig:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in json.loads(data).items() if k in known})

    def block_weight(self, block: str) -> float:
        return {
            "c": self.w_char,
            "w": self.w_word,
            "h": self.w_head,
            "k": self.w_phrase,
            "t": self.w_context,
        }[block]


def _char_ngrams(text: str, lo: int, hi: int, prefix: str) -> list[str]:
    out: list[str] = []
    n = len(text)
    for k in range(lo, hi + 1):
        out.extend(prefix + text[i : i + k] for i in range(n - k + 1))
    return out


class Featurizer:
    """Turns prepared texts into the five feature blocks (lists of feature strings)."""

    def __init__(
        self,
        config: EngineConfig,
        *,
        phrases: Iterable[str] = (),
        user_words: Iterable[str] = (),
    ) -> None:
        self.config = config
        self.phrases = tuple(sorted({normalise(p) for p in phrases} - {""}))
        self.segmenter = Segmenter(user_words) if config.use_words else None

    def blocks(self, text: str, context: str | None = None) -> dict[str, list[str]]:
        cfg = self.config
        out: dict[str, list[str]] = {"c": _char_ngrams(text, cfg.char_min, cfg.char_max, "c|")}
        if self.segmenter is not None:
            words = self.segmenter.cut(text)
            feats = ["w|" + w for w in words]
            if cfg.word_bigrams:
                feats += [f"w|{a}_{b}" for a, b in pairwise(words)]
            out["w"] = feats
        if cfg.head_chars:
            out["h"] = _char_ngrams(text[: cfg.head_chars], cfg.char_min, cfg.char_max, "h|")
        if self.phrases:
            out["k"] = ["k|" + p for p in self.phrases if p in text]
        if context:
            out["t"] = ["t|" + context]
        return out


def surface(feature: str) -> str:
    """The text a feature stands for (``w|a_b`` → ``ab``), for explanations."""
    block, _sep, value = feature.partition("|")
    if block == "w":
        return value.replace("_", "")
    if block == "t":
        return ""
    return value


# ---- the model -------------------------------------------------------------------------


@dataclass
class Prediction:
    labels: list[str]  # best first
    confidences: list[float]
    scores: np.ndarray  # raw, per class (model order)
    truncated: bool = False


@dataclass
class TextModel:
    config: EngineConfig
    classes: list[str]
    vocabulary: dict[str, int]
    idf: np.ndarray  # float32, per feature
    coef: np.ndarray  # float32, classes × features
    intercept: np.ndarray  # float32, per class
    temperature: float = 1.0
    phrases: tuple[str, ...] = ()
    user_words: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    _featurizer: Featurizer | None = field(default=None, repr=False)

    # -- features --

    @property
    def featurizer(self) -> Featurizer:
        if self._featurizer is None:
            self._featurizer = Featurizer(
                self.config, phrases=self.phrases, user_words=self.user_words
            )
        return self._featurizer

    def vector(self, text: str, context: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(feature indices, values) of a prepared text: per-block TF-IDF, L2 per block,
        block weights, L2 over the whole vector."""
        return _vectorise(
            self.featurizer.blocks(text, context), self.vocabulary, self.idf, self.config
        )

    # -- prediction --

    def predict(
        self, text: str, *, context: str | None = None, prepared: bool = False
    ) -> Prediction:
        truncated = False
        if not prepared:
            p = prepare(text, max_chars=self.config.max_chars)
            text, truncated = p.text, p.truncated
        idx, val = self.vector(text, context)
        scores = self.coef[:, idx] @ val + self.intercept if len(idx) else self.intercept.copy()
        probs = softmax(scores * self.temperature)
        order = np.argsort(-probs)
        return Prediction(
            labels=[self.classes[i] for i in order],
            confidences=[float(probs[i]) for i in order],
            scores=scores,
            truncated=truncated,
        )

    def contributions(
        self, text: str, label: str, context: str | None = None
    ) -> list[tuple[str, float]]:
        """The features of a prepared text that pushed it towards `label`, largest first."""
        if label not in self.classes:
            return []
        row = self.coef[self.classes.index(label)]
        idx, val = self.vector(text, context)
        if not len(idx):
            return []
        inverse = self._inverse()
        contrib = row[idx] * val
        order = np.argsort(-contrib)
        return [(inverse[idx[i]], float(contrib[i])) for i in order if contrib[i] > 0]

    def _inverse(self) -> dict[int, str]:
        inv = self.meta.get("_inverse")
        if inv is None:
            inv = {i: f for f, i in self.vocabulary.items()}
            self.meta["_inverse"] = inv
        return inv

    def explain(
        self, raw_text: str, label: str, context: str | None = None, *, terms: int = 5
    ) -> tuple[list[str], str]:
        """(the words that matched, the clause that matched best) for `label`.

        Evidence is credited to readable units: every word jieba finds and every list
        phrase present gets its own weight plus that of the character n-grams (two
        characters or more) inside it; the best units are returned, longest first when
        one contains another."""
        prepared = prepare(raw_text, max_chars=self.config.max_chars).text
        found = self.contributions(prepared, label, context)
        if not found:
            return [], ""
        weights = dict(found)
        units = {p for p in self.phrases if p in prepared}
        if self.featurizer.segmenter is not None:
            units.update(w for w in self.featurizer.segmenter.cut(prepared) if len(w) >= 2)
        lo = max(2, self.config.char_min)
        scored = []
        for unit in units:
            score = weights.get("w|" + unit, 0.0) + weights.get("k|" + unit, 0.0)
            score += sum(
                weights.get(g, 0.0) for g in set(_char_ngrams(unit, lo, self.config.char_max, "c|"))
            )
            if score > 0:
                scored.append((score, unit))
        scored.sort(key=lambda su: (-su[0], -len(su[1])))
        chosen: list[str] = []
        top = scored[0][0] if scored else 0.0
        for score, unit in scored:
            if score < 0.25 * top or len(chosen) >= terms:
                break
            if any(unit in c for c in chosen):
                continue
            chosen = [c for c in chosen if c not in unit]
            chosen.append(unit)
        # The clause whose character n-grams carry most of the evidence.
        best_clause, best = "", 0.0
        for clause in clauses(raw_text)[:60]:
            grams = _char_ngrams(normalise(clause), lo, self.config.char_max, "c|")
            score = sum(weights.get(g, 0.0) for g in set(grams))
            if score > best:
                best_clause, best = clause[:80], score
        return chosen, best_clause

    # -- storage --

    def to_bytes(self) -> bytes:
        vocab = sorted(self.vocabulary.items(), key=lambda kv: kv[1])
        header = {
            "schema": SCHEMA_VERSION,
            "config": json.loads(self.config.to_json()),
            "classes": self.classes,
            "temperature": self.temperature,
            "phrases": list(self.phrases),
            "user_words": list(self.user_words),
            "meta": {k: v for k, v in self.meta.items() if not k.startswith("_")},
        }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.array(json.dumps(header, ensure_ascii=False)),
            # one string, a feature a line (features hold no line breaks): far smaller than
            # an array of fixed-width strings
            vocabulary=np.array("\n".join(f for f, _i in vocab)),
            idf=self.idf.astype(np.float32),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TextModel:
        try:
            arrays = np.load(io.BytesIO(data), allow_pickle=False)
            header = json.loads(str(arrays["header"]))
        except Exception as exc:  # any damage reads as "not a model of this schema"
            raise ModelSchemaError(f"not a routing model file: {exc}") from exc
        if header.get("schema") != SCHEMA_VERSION:
            raise ModelSchemaError(
                f"model schema {header.get('schema')} is not the engine's {SCHEMA_VERSION}"
            )
        try:
            joined = str(arrays["vocabulary"])
            vocabulary = {f: i for i, f in enumerate(joined.split("\n"))} if joined else {}
            model = cls(
                config=EngineConfig.from_json(json.dumps(header["config"])),
                classes=[str(c) for c in header["classes"]],
                vocabulary=vocabulary,
                idf=arrays["idf"],
                coef=arrays["coef"],
                intercept=arrays["intercept"],
                temperature=float(header["temperature"]),
                phrases=tuple(header.get("phrases", ())),
                user_words=tuple(header.get("user_words", ())),
                meta=dict(header.get("meta", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelSchemaError(f"incomplete routing model file: {exc}") from exc
        if model.coef.shape != (len(model.classes), len(vocabulary)):
            raise ModelSchemaError("routing model arrays do not match")
        return model


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def _vectorise(
    blocks: dict[str, list[str]],
    vocabulary: dict[str, int],
    idf: np.ndarray,
    config: EngineConfig,
) -> tuple[np.ndarray, np.ndarray]:
    all_idx: list[int] = []
    all_val: list[float] = []
    for block, feats in blocks.items():
        counts = Counter(feats)
        idx = []
        val = []
        for feature, n in counts.items():
            i = vocabulary.get(feature)
            if i is not None:
                idx.append(i)
                val.append((1.0 + math.log(n)) * float(idf[i]))
        if not idx:
            continue
        norm = math.sqrt(sum(v * v for v in val))
        scale = config.block_weight(block) / norm
        all_idx.extend(idx)
        all_val.extend(v * scale for v in val)
    idx_a = np.asarray(all_idx, dtype=np.int64)
    val_a = np.asarray(all_val, dtype=np.float64)
    total = float(np.sqrt((val_a * val_a).sum())) if len(val_a) else 0.0
    if total > 0:
        val_a /= total
    return idx_a, val_a


def _matrix(
    docs: Sequence[dict[str, list[str]]],
    vocabulary: dict[str, int],
    idf: np.ndarray,
    config: EngineConfig,
) -> sp.csr_matrix:
    indptr = [0]
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for doc in docs:
        idx, val = _vectorise(doc, vocabulary, idf, config)
        indices.append(idx)
        data.append(val)
        indptr.append(indptr[-1] + len(idx))
    return sp.csr_matrix(
        (
            np.concatenate(data) if data else np.zeros(0),
            np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
            np.asarray(indptr),
        ),
        shape=(len(docs), len(vocabulary)),
    )


# ---- training --------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    weight: float = 1.0
    context: str | None = None


def _fit_vocabulary(
    docs: Sequence[dict[str, list[str]]], config: EngineConfig
) -> tuple[dict[str, int], np.ndarray]:
    df: Counter[str] = Counter()
    for doc in docs:
        for feats in doc.values():
            df.update(set(feats))
    n = len(docs)
    small = n < config.small_corpus
    min_df = 1 if small else config.min_df
    max_df = max(1.0, config.max_df * n)
    vocabulary: dict[str, int] = {}
    for feature, count in sorted(df.items()):
        block = feature[0]
        # phrases and townships are rare by nature: keep them whatever their frequency
        if block in "kt" or (min_df <= count <= max_df):
            vocabulary[feature] = len(vocabulary)
    idf = np.zeros(len(vocabulary), dtype=np.float64)
    for feature, i in vocabulary.items():
        idf[i] = math.log((1 + n) / (1 + df[feature])) + 1.0
    return vocabulary, idf


def _select(
    x: sp.csr_matrix, y: np.ndarray, vocabulary: dict[str, int], idf: np.ndarray, k: int
) -> tuple[dict[str, int], np.ndarray]:
    from sklearn.feature_selection import chi2

    scores, _p = chi2(x, y)
    scores = np.nan_to_num(scores, nan=0.0)
    keep = np.sort(np.argsort(-scores, kind="stable")[:k])
    inverse = {i: f for f, i in vocabulary.items()}
    selected = {inverse[int(i)]: j for j, i in enumerate(keep)}
    # phrases and townships always stay: they are few and the list relies on them
    for feature, i in vocabulary.items():
        if feature[0] in "kt" and feature not in selected:
            selected[feature] = len(selected)
            keep = np.append(keep, i)
    return selected, idf[keep]


def _svm(config: EngineConfig, *, multi_class: str = "ovr") -> Any:
    from sklearn.svm import LinearSVC

    return LinearSVC(
        C=config.c,
        class_weight="balanced",
        multi_class=multi_class,
        max_iter=5000,
        random_state=0,
    )


def log_count_ratios(x: sp.csr_matrix, positive: np.ndarray, alpha: float) -> np.ndarray:
    """NB-SVM's feature scaling for one label: log of the smoothed share of the label's
    texts that have the feature over the same share among the other texts (Wang and
    Manning 2012), from presence counts."""
    present = (x > 0).astype(np.float64)
    pos = np.asarray(present[positive].sum(axis=0)).ravel() + alpha
    neg = np.asarray(present[~positive].sum(axis=0)).ravel() + alpha
    return np.log(pos / pos.sum()) - np.log(neg / neg.sum())


def _fit(
    config: EngineConfig, x: sp.csr_matrix, y: np.ndarray, weights: np.ndarray, n_labels: int
) -> tuple[np.ndarray, np.ndarray]:
    """(coef, intercept) of the configured classifier: labels × features, per label."""
    if config.classifier == "crammer_singer" or (config.classifier == "ovr" and n_labels > 2):
        svm = _svm(config, multi_class=config.classifier).fit(x, y, sample_weight=weights)
        coef = np.asarray(svm.coef_, dtype=np.float32)
        intercept = np.asarray(svm.intercept_, dtype=np.float32).reshape(-1)
        if coef.shape[0] == 1:  # sklearn's binary case: one row for the second class
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2], dtype=np.float32)
        return coef, intercept
    if config.classifier not in ("nbsvm", "ovr"):
        raise ValueError(f"unknown classifier {config.classifier!r}")
    # one binary SVM per label; NB-SVM scales the features by the label's log-count
    # ratios first, which folds back into the weights: w·(r⊙x) = (w⊙r)·x
    coef = np.zeros((n_labels, x.shape[1]), dtype=np.float32)
    intercept = np.zeros(n_labels, dtype=np.float32)
    for k in range(n_labels):
        positive = y == k
        if config.classifier == "nbsvm":
            r = log_count_ratios(x, positive, config.nb_alpha)
            xk = x @ sp.diags(r)
        else:
            r, xk = np.ones(x.shape[1]), x
        svm = _svm(config).fit(xk, positive.astype(int), sample_weight=weights)
        coef[k] = svm.coef_[0] * r
        intercept[k] = svm.intercept_[0]
    return coef, intercept


def fit_temperature(
    scores: Sequence[np.ndarray] | np.ndarray, y: Sequence[int] | np.ndarray
) -> float:
    """The softmax temperature that minimises the log loss of held-out scores."""
    z0 = np.asarray(scores, dtype=np.float64)
    yy = np.asarray(y)
    best_t, best_loss = 1.0, float("inf")
    for t in np.geomspace(0.5, 60, 60):
        z = z0 * t
        z = z - z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -float(log_p[np.arange(len(yy)), yy].mean())
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return best_t


def train(
    examples: Sequence[Example],
    *,
    config: EngineConfig | None = None,
    phrases: Iterable[str] = (),
    user_words: Iterable[str] = (),
    calibrate: bool = True,
    meta: dict[str, Any] | None = None,
) -> TextModel:
    """Train a model on `examples` (texts are prepared here)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    config = config or EngineConfig()
    if len(examples) < config.small_corpus:
        config = replace(
            config,
            classifier=config.small_classifier,
            c=config.small_c,
            w_word=config.small_w_word,
        )
    if not examples:
        raise TrainingError("no training examples")
    labels = sorted({e.label for e in examples})
    if len(labels) < 2:
        raise TrainingError("training needs at least two labels")
    featurizer = Featurizer(config, phrases=phrases, user_words=user_words)
    docs = [
        featurizer.blocks(prepare(e.text, max_chars=config.max_chars).text, e.context)
        for e in examples
    ]
    y = np.array([labels.index(e.label) for e in examples])
    weights = np.array([e.weight for e in examples], dtype=np.float64)
    vocabulary, idf = _fit_vocabulary(docs, config)
    if len(docs) >= config.small_corpus and 0 < config.k_best < len(vocabulary):
        x_full = _matrix(docs, vocabulary, idf, config)
        vocabulary, idf = _select(x_full, y, vocabulary, idf, config.k_best)
    x = _matrix(docs, vocabulary, idf, config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        coef, intercept = _fit(config, x, y, weights, len(labels))
        temperature = 10.0
        counts = np.bincount(y, minlength=len(labels))
        if calibrate and counts.min() >= 3 and len(examples) >= 30:
            folds = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
            oof = np.zeros((len(y), len(labels)))
            for tr, te in folds.split(x, y):
                if len(set(y[tr].tolist())) < len(labels):
                    break
                fold_coef, fold_intercept = _fit(config, x[tr], y[tr], weights[tr], len(labels))
                oof[te] = np.asarray(x[te] @ fold_coef.T) + fold_intercept
            else:
                temperature = fit_temperature(oof, y)
    return TextModel(
        config=config,
        classes=labels,
        vocabulary=vocabulary,
        idf=idf.astype(np.float32),
        coef=coef,
        intercept=intercept,
        temperature=temperature,
        phrases=featurizer.phrases,
        user_words=featurizer.segmenter.user_words if featurizer.segmenter else (),
        meta=dict(meta or {}),
    )


def with_config(model: TextModel, **changes: Any) -> TextModel:
    """A copy of `model` whose prediction-time settings (e.g. the cap) differ."""
    return replace(model, config=replace(model.config, **changes), _featurizer=None)
