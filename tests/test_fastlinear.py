"""The numpy-only predictor must give the fitted pipeline's probabilities, and spare the
nightly inspect process the scikit-learn import."""

import json
import shutil
import subprocess
import sys

import joblib
import numpy as np
import pytest

from qc import classify, fastlinear
from qc.paths import MODELS_DIR

# Messages as customers and agents write them, including the awkward ones: empty, blanks,
# stickers only, full-width letters, a newline inside a message, a foreign script.
TEXTS = [
    "收到货发现外壳瘪了一块，你们怎么回事", "能不能再便宜点，别家才卖299", "什么时候发货啊，急用", "已拍，麻烦核对下地址",
    "亲，非常抱歉给您添麻烦了，我马上帮您登记补发", "您别着急，我这边帮您催一下快递", "说了多少遍了，自己看详情页",
    "亲，还在考虑吗？今天下单送焊条哦", "没有了，谢谢", "好的亲", "", " ", "😡😡😡", "[微笑]", "ｗ：全角ＡＢＣ",
    "坚果发霉了\r\n怎么处理", "为什么退款一直没到账", "Спасибо", "九价疫苗有货吗", "这个价保吗，我刚买就降价了",
]


def shipped(task):
    meta = classify.latest_meta(task)
    return MODELS_DIR / task / meta["version"] / "model.joblib"


@pytest.mark.parametrize("task", ["customer_intent", "agent_act"])
def test_exported_model_gives_the_pipelines_probabilities(task):
    pipe = joblib.load(shipped(task))
    labels = classify.TASKS[task]["labels"]
    ref = classify.Model(task, "ref", "sklearn", labels, pipe, {}).predict_proba(TEXTS)
    fast = classify.Model(task, "fast", "sklearn", labels, fastlinear.FastLinear(fastlinear.export(pipe)), {})
    got = fast.predict_proba(TEXTS)
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 1e-12
    # and it is not a trivial model: the complaint / apology above are read as such
    j = labels.index("complaint" if task == "customer_intent" else "apology")
    assert got[0 if task == "customer_intent" else 4, j] > 0.5


def test_logistic_regression_variant_exports_too():
    labels = classify.TASKS["agent_act"]["labels"]
    pipe = classify.sklearn_pipeline("cues_lr")
    train = TEXTS[:16] * 2
    y = np.array([[i % len(labels) == j for j in range(len(labels))] for i in range(len(train))], dtype=int)
    pipe.fit(train, y)
    ref = classify.Model("agent_act", "r", "sklearn", labels, pipe, {}).predict_proba(TEXTS)
    got = classify.Model("agent_act", "f", "sklearn", labels, fastlinear.FastLinear(fastlinear.export(pipe)), {}).predict_proba(TEXTS)
    assert np.abs(got - ref).max() < 1e-12


def test_load_builds_the_cache_once_and_then_skips_scikit_learn(tmp_path):
    meta = classify.latest_meta("customer_intent")
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR / "customer_intent" / meta["version"], models / "customer_intent" / meta["version"],
                    ignore=shutil.ignore_patterns("fast-*.npz"))
    first = classify.load_model("customer_intent", models_dir=models)
    cached = list((models / "customer_intent" / meta["version"]).glob("fast-*.npz"))
    assert len(cached) == 1 and isinstance(first.impl, fastlinear.FastLinear)
    code = ("import sys, json; from pathlib import Path; from qc.classify import load_model; "
            f"m = load_model('customer_intent', models_dir=Path({str(models)!r})); "
            "p = m.predict_proba(['收到就坏了，怎么回事']); "
            "print(json.dumps(['sklearn' in sys.modules, type(m.impl).__name__, p.tolist()]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    imported, kind, probs = json.loads(out.strip().splitlines()[-1])
    assert not imported and kind == "FastLinear"
    assert np.abs(np.array(probs) - first.predict_proba(["收到就坏了，怎么回事"])).max() < 1e-12


def test_a_changed_joblib_is_not_served_from_a_stale_cache(tmp_path):
    meta = classify.latest_meta("agent_act")
    d = tmp_path / "models" / "agent_act" / meta["version"]
    shutil.copytree(MODELS_DIR / "agent_act" / meta["version"], d, ignore=shutil.ignore_patterns("fast-*.npz"))
    classify.load_model("agent_act", models_dir=tmp_path / "models")
    # retrained in place with other weights: the cache is keyed by the joblib's content
    pipe = joblib.load(d / "model.joblib")
    for est in pipe.named_steps["clf"].estimators_:
        for cc in est.calibrated_classifiers_:
            cc.estimator.coef_ = -cc.estimator.coef_
    joblib.dump(pipe, d / "model.joblib")
    again = classify.load_model("agent_act", models_dir=tmp_path / "models")
    ref = classify.Model("agent_act", "r", "sklearn", again.labels, pipe, {}).predict_proba(TEXTS)
    assert np.abs(again.predict_proba(TEXTS) - ref).max() < 1e-12
    assert len(list(d.glob("fast-*.npz"))) == 2
