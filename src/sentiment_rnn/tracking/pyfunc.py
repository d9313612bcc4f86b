"""The MLflow pyfunc wrapper, logged as *code* (MLflow "models from code"), so nothing is pickled:
loading runs this file and then our own loader (safetensors + JSON).

    mlflow.pyfunc.load_model(uri).predict(pandas.DataFrame({"text": [...]}))
    → DataFrame with `label` and one `p_<class>` column per class (a multi-label model adds `labels`,
      its labels at or above their thresholds, comma-separated)
"""

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

MODEL_ARTIFACT = "sentiment_model"  # key of the model folder in the pyfunc's artifacts


class SentimentPyfunc(PythonModel):
    def load_context(self, context) -> None:
        from sentiment_rnn.classifier import SentimentClassifier

        self.classifier = SentimentClassifier.load(context.artifacts[MODEL_ARTIFACT])

    # The annotation is a real class (no `from __future__ import annotations` here): MLflow reads it,
    # and with a DataFrame it neither warns about missing type hints nor rewrites the input.
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from sentiment_rnn.prediction import chosen_labels, labels, probability_columns

        if isinstance(model_input, pd.DataFrame):
            texts = model_input["text"].astype(str).tolist()
        else:
            texts = [str(t) for t in model_input]
        proba = self.classifier.predict_proba(texts)
        classes, thresholds = self.classifier.classes_, self.classifier.thresholds_
        frame = pd.DataFrame({"label": labels(classes, proba, getattr(self.classifier, "decision_", None))})
        if thresholds is not None:  # multi-label: the labels at or above their thresholds, comma-separated
            frame["labels"] = [",".join(chosen_labels(classes, row, thresholds)) for row in proba]
        for i, column in enumerate(probability_columns(classes)):
            frame[column] = proba[:, i].astype("float64")
        return frame


mlflow.models.set_model(SentimentPyfunc())
