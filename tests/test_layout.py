"""The package's shape: a layered import graph, and a prediction path that knows nothing of training."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import import_graph  # noqa: E402  (scripts/import_graph.py, the same check users run)


def test_imports_only_look_down_and_never_loop():
    report = import_graph.check()
    assert report["imports"] > 100  # the check saw the package
    assert report["upward"] == [] and report["cycles"] == [] and report["package_cycles"] == []
    assert report["package_init"] == []


def test_the_check_sees_a_broken_layering(tmp_path, monkeypatch):
    src = tmp_path / "sentiment_rnn"
    (src / "text").mkdir(parents=True)
    (src / "__init__.py").write_text("from .classifier import SentimentClassifier\n")
    (src / "classifier.py").write_text("from . import SentimentClassifier as again\n")  # names from __init__
    (src / "config.py").write_text("from .text import cleaning\n")
    (src / "text" / "__init__.py").write_text("")
    (src / "text" / "cleaning.py").write_text("from ..config import X\nfrom ..classifier import Y\n")
    monkeypatch.setattr(import_graph, "SOURCE", src)
    report = import_graph.check()
    assert "text.cleaning -> classifier" in report["upward"] and "text.cleaning -> config" in report["upward"]
    assert ["config", "text.cleaning"] in report["cycles"] and ["config", "text"] in report["package_cycles"]
    assert report["package_init"] == ["classifier"]


PREDICT_PATH = """
import sys
from types import SimpleNamespace
import pandas as pd
from sentiment_rnn.classifier import SentimentClassifier
from sentiment_rnn.explain import explain
from sentiment_rnn.predict_file import predict_file
from sentiment_rnn.service.app import create_app
from sentiment_rnn.tracking.pyfunc import SentimentPyfunc

folder = sys.argv[1]
clf = SentimentClassifier.load(folder)
clf.predict_proba(["a great film"]); clf.predict(["an awful film"]); explain(clf, "a great film")
create_app(folder)
wrapper = SentimentPyfunc()
wrapper.load_context(SimpleNamespace(artifacts={"sentiment_model": folder}))
wrapper.predict(None, pd.DataFrame({"text": ["a great film"]}))
loaded = sorted(m for m in sys.modules if m.startswith("sentiment_rnn.training"))
assert not loaded, loaded
"""


def test_prediction_imports_nothing_from_training(tiny_model_dir):
    result = subprocess.run([sys.executable, "-c", PREDICT_PATH, str(tiny_model_dir)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
