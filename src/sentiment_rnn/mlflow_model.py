"""The MLflow pyfunc wrapper, logged as *code* (MLflow "models from code"), so nothing is pickled:
loading runs this file and then our own loader (safetensors + JSON).

    mlflow.pyfunc.load_model(uri).predict(pandas.DataFrame({"text": [...]}))
    → DataFrame with `label` and one `p_<class>` column per class
"""

from __future__ import annotations

import mlflow
from mlflow.pyfunc import PythonModel

MODEL_ARTIFACT = "sentiment_model"  # key of the model folder in the pyfunc's artifacts


class SentimentPyfunc(PythonModel):
    def load_context(self, context) -> None:
        from sentiment_rnn import SentimentClassifier

        self.classifier = SentimentClassifier.load(context.artifacts[MODEL_ARTIFACT])

    def predict(self, context, model_input, params=None):
        import pandas as pd

        if isinstance(model_input, pd.DataFrame):
            texts = model_input["text"].astype(str).tolist()
        else:
            texts = [str(t) for t in model_input]
        proba = self.classifier.predict_proba(texts)
        classes = self.classifier.classes_
        frame = pd.DataFrame({"label": [classes[i] for i in proba.argmax(axis=1)]})
        for i, name in enumerate(classes):
            frame[f"p_{name}"] = proba[:, i].astype("float64")
        return frame


mlflow.models.set_model(SentimentPyfunc())
