"""The classifiers' fast batch featuriser must give exactly scikit-learn's matrix."""

import numpy as np
import pytest

from qc import classify
from qc.config import load_config
from qc.errors import ConfigError
from qc.features import CueTfidf, analyze

TRAIN = [
    "能便宜点吗", "再少点呗，诚心要", "抹个零吧老板", "太贵了，别家才卖299", "收到就坏了，外壳瘪了一块",
    "发错颜色了！！", "用了两天就不出电了😡", "快递太慢了一周还没到", "什么时候发货", "发什么快递",
    "ZX7-250焊机能焊不锈钢吗？", "羽绒服L码适合多高", "已拍，麻烦核对下地址", "在吗", "好的谢谢[微笑]",
    "亲，非常抱歉给您添麻烦了", "您别着急，我马上帮您处理", "亲，还在考虑吗？今天下单送焊条", "已经很低了，爱买不买",
    "你自己不会看详情页吗", "滚筒洗衣机很好用", "这个焊机很靠谱", "说了多少遍了", "不好意思，不能再优惠了",
] * 2

BATCH = [
    "能不能再便宜点", "亲，这款滚筒洗衣机可以放阳台", "", " ", "用了两天就不出电了，你们怎么回事",
    "已付款\n什么时候发", "😡😡😡", "[微笑]", "ZX7-250 能焊 不锈钢 吗", "abc def", "亲亲 亲",
    "你自己不会看吗？说了多少遍了", "非常抱歉，是我们的疏忽", "ｗ：全角ＡＢＣ", "@@ w:a 滚", "坚果发霉了\r\n怎么处理",
]


@pytest.fixture(scope="module")
def fitted():
    return CueTfidf().fit(TRAIN)


def test_fast_transform_equals_scikit_learn(fitted):
    fast = fitted.transform(BATCH)
    ref = fitted.transform_reference(BATCH)
    assert fast.shape == ref.shape
    assert abs(fast - ref).max() < 1e-12
    assert (fast != 0).sum() == (ref != 0).sum()


def test_features_carry_words_ngrams_and_lexicon_cues():
    f = analyze("收到就坏了，亲非常抱歉")
    assert "w:非常抱歉" in f and "w:坏了" in f and "坏了" in f and "@complaint" in f and "@apology" in f
    assert not [f for f in analyze("你好") if f.startswith("@")]


def test_fast_transform_survives_pickling(fitted):
    import pickle

    again = pickle.loads(pickle.dumps(fitted))
    assert abs(again.transform(BATCH) - fitted.transform(BATCH)).max() < 1e-12


def test_predict_proba_classifies_each_distinct_text_once_and_blank_is_other(fitted):
    import scipy.sparse as sp

    labels = classify.TASKS["agent_act"]["labels"]
    calls = []

    class Clf:
        def predict_proba(self, X):
            calls.append(X.shape[0])
            return np.full((X.shape[0], len(labels)), 0.9)

    class Pipe:
        named_steps = {"features": fitted, "clf": Clf()}

    m = classify.Model("agent_act", "t", "sklearn", labels, Pipe(), {})
    texts = ["好的亲", "亲，还在考虑吗", "好的亲", "", "好的亲", None, "👌"]
    p = m.predict_proba(texts)
    assert calls == [4]                      # 好的亲, 亲，还在考虑吗, "", 👌
    assert p.shape == (7, len(labels))
    assert (p[0] == p[2]).all() and (p[0] == 0.9).all()
    other = labels.index("other")
    for i in (3, 5, 6):                      # nothing known to the model: `other`, never `rude`
        assert p[i, other] == 1.0 and p[i].sum() == 1.0
    assert sp.issparse(fitted.transform(["👌"]))


def test_thresholds_accept_auto_and_reject_words(tmp_path):
    good = tmp_path / "qc.yaml"
    good.write_text("rules:\n  rude_tone: {threshold: auto}\n  missing_apology: {complaint_threshold: 0.8}\n", encoding="utf-8")
    cfg = load_config(good)
    assert cfg.rule("rude_tone")["threshold"] == "auto"
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  rude_tone: {threshold: high}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rules.rude_tone.threshold"):
        load_config(bad)
    bad.write_text("rules:\n  slow_response: {limit_s: auto}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="rules.slow_response.limit_s"):
        load_config(bad)


def test_threaded_chunks_give_the_same_probabilities(monkeypatch):
    labels = classify.TASKS["agent_act"]["labels"]
    pipe = classify.sklearn_pipeline("cues_lr")
    y = np.array([[i % len(labels) == j for j in range(len(labels))] for i in range(len(TRAIN))], dtype=int)
    pipe.fit(TRAIN, y)
    m = classify.Model("agent_act", "t", "sklearn", labels, pipe, {})
    texts = BATCH * 3 + [t + "吗" for t in TRAIN]
    whole = m.predict_proba(texts)
    monkeypatch.setattr(classify, "PARALLEL_MIN_TEXTS", 2)
    assert len(classify._chunks(list(dict.fromkeys(texts)))) > 1 or __import__("os").cpu_count() == 1
    assert np.allclose(m.predict_proba(texts), whole)
