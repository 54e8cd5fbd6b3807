"""The routing engine on its own: features, training, prediction, storage, bad input."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from xianghu.routing import engine
from xianghu.routing.engine import EngineConfig, Example

SYNTHETIC = {
    "fire": [
        "麦地里有人焚烧秸秆浓烟很大",
        "田里烧麦茬冒烟了",
        "地头玉米秆被人点火焚烧",
        "秋收后农户在田里烧稻草",
    ],
    "water": [
        "村里自来水发黄不能喝",
        "供水管道爆裂停水三天",
        "水龙头里的水有异味",
        "自来水水压太低吃水难",
    ],
    "wage": [
        "包工头拖欠农民工工资不发",
        "老板欠了工人半年工钱",
        "工地讨薪工人工资被拖欠",
        "劳务费拖欠三个月没给",
    ],
}


def examples() -> list[Example]:
    return [Example(text, label) for label, texts in SYNTHETIC.items() for text in texts]


@pytest.fixture(scope="module")
def model() -> engine.TextModel:
    return engine.train(examples(), phrases=["秸秆", "自来水", "拖欠工资"], user_words=["讨薪"])


def test_normalise_keeps_letters_and_digits_only():
    assert engine.normalise("Ａ市，水管　爆裂！（3天）") == "a市水管爆裂3天"
    prepared = engine.prepare("水" * (engine.MAX_CHARS + 5))
    assert prepared.truncated
    assert len(prepared.text) == engine.MAX_CHARS
    assert prepared.length == engine.MAX_CHARS + 5
    assert engine.prepare("hello world").cjk == 0
    assert engine.prepare("村村村村").distinct == 1


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("有人在地里烧秸秆", "fire"),
        ("我们村停水了，水管坏了", "water"),
        ("工人的工资一直被拖欠", "wage"),
    ],
)
def test_predicts_unseen_wording(model, text, label):
    prediction = model.predict(text)
    assert prediction.labels[0] == label
    assert prediction.confidences == sorted(prediction.confidences, reverse=True)
    assert sum(prediction.confidences) == pytest.approx(1.0)


def test_explanation_names_words_of_the_text(model):
    words, clause = model.explain("村里有人焚烧秸秆，浓烟滚滚。请尽快处理", "fire")
    assert words
    assert all(w in "村里有人焚烧秸秆浓烟滚滚请尽快处理" for w in words)
    assert clause == "村里有人焚烧秸秆"


def test_truncation_is_reported(model):
    assert model.predict("停水" + "水" * 3000).truncated
    assert not model.predict("停水").truncated


def test_round_trip_without_pickle(model):
    data = model.to_bytes()
    loaded = engine.TextModel.from_bytes(data)
    text = "地里有人点火烧秸秆"
    assert loaded.predict(text).labels == model.predict(text).labels
    np.testing.assert_allclose(loaded.predict(text).scores, model.predict(text).scores, rtol=1e-5)
    assert loaded.phrases == model.phrases
    # the file holds no pickled objects at all
    arrays = np.load(io.BytesIO(data), allow_pickle=False)
    assert {a.dtype.kind for a in arrays.values()} <= {"U", "f"}


def _with_header(data: bytes, **changes) -> bytes:
    arrays = dict(np.load(io.BytesIO(data), allow_pickle=False))
    header = json.loads(str(arrays["header"]))
    header.update(changes)
    arrays["header"] = np.array(json.dumps(header))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def test_a_model_of_another_schema_is_refused(model):
    older = _with_header(model.to_bytes(), schema=engine.SCHEMA_VERSION - 1)
    with pytest.raises(engine.ModelSchemaError, match="schema"):
        engine.TextModel.from_bytes(older)


@pytest.mark.parametrize("data", [b"", b"not a model", b"PK\x03\x04broken"])
def test_damaged_bytes_are_refused(data):
    with pytest.raises(engine.ModelSchemaError):
        engine.TextModel.from_bytes(data)


def test_inconsistent_arrays_are_refused(model):
    broken = _with_header(model.to_bytes(), classes=["fire", "water"])
    with pytest.raises(engine.ModelSchemaError, match="do not match"):
        engine.TextModel.from_bytes(broken)


def test_training_needs_two_labels():
    with pytest.raises(engine.TrainingError):
        engine.train([])
    with pytest.raises(engine.TrainingError):
        engine.train([Example("停水", "water"), Example("水管爆裂", "water")])


def test_binary_training_and_weights():
    data = [Example(t, lab) for lab in ("fire", "water") for t in SYNTHETIC[lab]]
    model = engine.train(data, calibrate=False)
    assert model.coef.shape[0] == 2
    assert model.predict("秸秆焚烧").labels[0] == "fire"
    # a heavy example of the other label overrides the light ones
    tilted = [*data, Example("秸秆焚烧", "water", weight=50.0)]
    assert engine.train(tilted, calibrate=False).predict("秸秆焚烧").labels[0] == "water"


def test_large_corpus_path_selects_features():
    config = EngineConfig(small_corpus=5, k_best=40, min_df=1)
    model = engine.train(examples(), config=config, phrases=["秸秆"])
    # the k best features, plus the phrases that always stay
    assert len(model.vocabulary) == 41
    assert "k|秸秆" in model.vocabulary
    assert model.predict("有人在地里烧秸秆").labels[0] == "fire"


def test_user_words_do_not_touch_jiebas_global_tokenizer():
    import jieba

    with_words = engine.Segmenter(["秸秆禁烧巡查"])
    assert "秸秆禁烧巡查" in with_words.cut("开展秸秆禁烧巡查工作")
    assert "秸秆禁烧巡查" not in engine.Segmenter().cut("开展秸秆禁烧巡查工作")
    assert "秸秆禁烧巡查" not in jieba.lcut("开展秸秆禁烧巡查工作")


def test_context_feature_learns_a_township():
    data = [
        *examples(),
        Example("路边有情况", "water", context="371221001"),
        Example("路边有情况需要处理", "water", context="371221001"),
        Example("路边有情况", "fire", context="371221002"),
        Example("路边有情况需要处理", "fire", context="371221002"),
    ]
    model = engine.train(data, calibrate=False)
    assert model.predict("路边有情况", context="371221001").labels[0] == "water"
    assert model.predict("路边有情况", context="371221002").labels[0] == "fire"


def test_log_count_ratios_favour_the_labels_own_features():
    import scipy.sparse as sp

    # feature 0 only in the label's texts, feature 1 only in the others, feature 2 in all
    x = sp.csr_matrix(np.array([[1.0, 0, 1], [2.0, 0, 1], [0, 1.0, 1], [0, 3.0, 1]]))
    r = engine.log_count_ratios(x, np.array([True, True, False, False]), alpha=1.0)
    assert r[0] > 0 > r[1]
    assert r[2] == pytest.approx(0.0)
    # presence counts: how often a feature occurs in a text does not matter
    doubled = engine.log_count_ratios(x * 5, np.array([True, True, False, False]), alpha=1.0)
    np.testing.assert_allclose(r, doubled)


@pytest.mark.parametrize("classifier", ["nbsvm", "crammer_singer", "ovr"])
def test_large_corpus_classifiers(classifier):
    # small_corpus=5 puts these 12 texts in the large-corpus regime
    config = EngineConfig(small_corpus=5, min_df=1, max_df=1.0, classifier=classifier)
    model = engine.train(examples(), config=config)
    assert model.config.classifier == classifier
    assert model.coef.shape == (3, len(model.vocabulary))
    assert model.predict("有人在地里烧秸秆").labels[0] == "fire"
    assert model.predict("工人的工资一直被拖欠").labels[0] == "wage"
    assert engine.TextModel.from_bytes(model.to_bytes()).predict("停水了").labels == (
        model.predict("停水了").labels
    )


def test_small_corpus_regime_keeps_the_multi_class_svm(model):
    assert model.config.classifier == "crammer_singer"
    assert model.config.c == EngineConfig().small_c


def test_nbsvm_binary_and_sample_weights():
    config = EngineConfig(small_corpus=5, min_df=1, max_df=1.0)
    data = [Example(t, lab) for lab in ("fire", "water") for t in SYNTHETIC[lab]]
    model = engine.train(data, config=config, calibrate=False)
    assert model.coef.shape[0] == 2
    assert model.predict("秸秆焚烧").labels[0] == "fire"
    tilted = [*data, Example("秸秆焚烧", "water", weight=50.0)]
    assert engine.train(tilted, config=config, calibrate=False).predict("秸秆焚烧").labels[0] == (
        "water"
    )


def test_unknown_classifier_is_an_error():
    config = EngineConfig(small_corpus=5, classifier="forest")
    with pytest.raises(ValueError, match="forest"):
        engine.train(examples(), config=config)
