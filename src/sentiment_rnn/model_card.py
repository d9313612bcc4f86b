"""The model card, `MODEL/README.md`: Hugging Face's model-card layout (YAML front matter with a
`model-index` of measured results, then sections), written from what the folder itself records:
config.json (settings, data digests, calibration, the int8 gate, the decision rule),
metrics.json (training and test figures), and, once run, `evaluate` results (evaluations.json)
and `check` results (checks.json). Every field comes from a measurement or a setting; what was not
measured says which command measures it. Written with the folder as one unit at save
(folder.write_model_folder), rewritten by `evaluate`, `check` and `threshold`
(folder.update_card), and sealed with it (manifest.json), like every file of it.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

CARD = "README.md"
EVALUATIONS = "evaluations.json"
CHECKS = "checks.json"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _read(folder: Path, name: str) -> Any:
    path = folder / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def render(folder: Path) -> str:
    """The card's text for a model folder, from its files."""
    return render_card(folder.resolve().name, _read(folder, "config.json"), _read(folder, "metrics.json") or {},
                       _read(folder, EVALUATIONS) or [], _read(folder, CHECKS))


def render_card(name: str, config: dict[str, Any], metrics: dict[str, Any], evaluations: list[dict[str, Any]],
                checks: dict[str, Any] | None) -> str:
    """The card's text from what a folder records (config.json, metrics.json, evaluations, checks)."""
    data, model = config["data"], config["model"]
    language = config["text"].get("language", "auto")
    summary = metrics.get("training", {})
    multilabel = bool(config.get("multilabel"))
    results = []
    validation = _validation_accuracy(summary, data, metrics.get("history") or {})
    if validation is not None:
        results.append(_result(data.get("source", "training data"), "validation (carved from the training data)",
                               {"accuracy": validation}))
    test = metrics.get("test")
    if test:
        results.append(_result(test.get("source", "test"), "test", _headline(test)))
    for run in evaluations:
        results.append(_result(run["source"], run.get("split", "evaluated"), _headline(run)))
    front = ["---", f"language: {language}" if language != "auto" else "language: multilingual",
             "library_name: sentiment-rnn", "pipeline_tag: text-classification",
             "tags:", "- text-classification", "- recurrent-neural-network",
             f"- {model['cell']}" if model["cell"] != "none" else "- linear-model",
             *(["- multi-label"] if multilabel else []),
             "model-index:", f"- name: {name}", "  results:"]
    for r in results:
        front += ["  - task:", "      type: text-classification", "      name: Text classification",
                  "    dataset:", f"      name: {json.dumps(r['dataset'])}", f"      type: {json.dumps(r['dataset'])}",
                  f"      split: {json.dumps(r['split'])}", "    metrics:"]
        front += [f"    - type: {k}\n      value: {v:.4f}" for k, v in r["metrics"].items()]
    if not results:
        front[-1] = "  results: []"
    front.append("---")
    body = [f"# {name}", "",
            f"A text classifier ({', '.join(config['classes'])}{'; several labels per text' if multilabel else ''}) "
            f"trained with sentiment-rnn {config.get('versions', {}).get('sentiment_rnn', '')} on "
            f"{data.get('source', 'labelled text')}: {_architecture(model, config)}.", "",
            "## Intended use and limits", "",
            f"Classifying {_language(language)} texts like the training data ({data.get('source')}) into "
            f"{', '.join(config['classes'])}. Texts are cut to {config['tokenizer']['max_length']} tokens "
            f"({config['tokenizer']['truncation']}); words outside its {config['vocab_size']:,}-token vocabulary are "
            f"read as one unknown token. Other domains, languages or label definitions than the training data's "
            f"are outside what was measured here. Known failures: {_known_failures(checks)}.", "",
            "## Training data", "",
            f"- source: {data.get('source')}; SHA-256 of the texts and labels: `{data.get('digest')}`",
            f"- {data.get('n_train', 0):,} training and {data.get('n_validation', 0):,} validation rows; "
            f"classes: {json.dumps(data.get('class_counts', {}))}"]
    if data.get("unlabeled"):
        body.append(f"- unlabeled: {data['unlabeled']['rows']:,} rows of {data['unlabeled']['source']} "
                    f"(`{data['unlabeled']['digest']}`), for the word vectors")
    body += ["", "## Settings", "", "| setting | value |", "|---|---|"]
    for section in ("model", "training"):
        for key in _KEY_SETTINGS[section]:
            if key in config[section]:
                body.append(f"| {section}.{key} | {json.dumps(config[section][key])} |")
    body += ["", "## Results", ""]
    body += [f"- {r['split']} on {r['dataset']}: " + ", ".join(f"{k} {v:.4f}" for k, v in r["metrics"].items())
             for r in results] or ["- no validation part and no evaluation yet: `sentiment-rnn evaluate "
                                   f"{name} --file FILE`"]
    baseline = summary.get("baseline")
    if baseline:
        body.append(f"- the linear baseline on the same validation part ({baseline['model']}, {baseline['features']}): "
                    f"accuracy {baseline['val_accuracy']:.4f}")
    body += ["", "## Calibration", ""]
    calibration = data.get("calibration")
    if calibration:
        before, after = calibration["validation_before"], calibration["validation_after"]
        body.append(f"Temperature {calibration['temperature']:g}, fitted on the validation part: expected calibration "
                    f"error (15 bins) {before['ece']:.4f} -> {after['ece']:.4f}, negative log-likelihood "
                    f"{before['nll']:.4f} -> {after['nll']:.4f}, Brier {before['brier']:.4f} -> {after['brier']:.4f}.")
    else:
        body.append("Not calibrated (training.calibrate = false, no validation part, or saved by a version before "
                    "calibration).")
    body += ["", "## int8 engine", ""]
    gate = data.get("int8")
    if gate:
        body.append(f"Compared with fp32 on {gate['reviews']:,} validation rows: labels agree on "
                    f"{gate['label_agreement'] * 100:.2f} %, accuracy {gate['accuracy_fp32']:.4f} (fp32) vs "
                    f"{gate['accuracy_int8']:.4f} (int8), ECE {gate['ece_fp32']:.4f} vs {gate['ece_int8']:.4f}: "
                    f"{'allowed' if gate['passed'] else 'refused'} (limit {gate['max_accuracy_drop']}).")
    else:
        body.append("Not measured at training (no validation part, ONNX Runtime not installed, or saved by a version "
                    "before the gate).")
    decision = config.get("decision")
    if decision:
        body += ["", "## Decision rule", "",
                 f"Version {decision['version']}, chosen for {decision['chosen_for']} on {decision['file']} "
                 f"(`{decision['file_digest'][:16]}`): " + (
                     f"{decision['target']} when p({decision['target']}) >= {decision['threshold']:.4f}"
                     if decision.get("target") else f"label {decision.get('label')} at {decision['figures']['threshold']:.4f}")
                 + (f"; 'uncertain' below {decision['abstain_below']}" if decision.get("abstain_below") else "") + "."]
    body += ["", "## Behavioural checks", ""]
    if checks:
        body += [f"{checks['summary']['tests']} tests ({checks['suite']}), {checks['summary']['cases']} cases:", "",
                 "| test | kind | failure rate |", "|---|---|---|"]
        body += [f"| {t['name']} | {t['kind']} | {t['failure_rate'] * 100:.1f} % of {t['cases']} |"
                 for t in checks["tests"]]
    else:
        body.append(f"Not run on this folder yet: `sentiment-rnn check {name}` adds them here.")
    body += ["", "## Speed", ""]
    if summary.get("train_reviews_per_s"):
        body.append(f"- training: {summary['train_reviews_per_s']:,} reviews/s over {summary.get('epochs_run')} epochs "
                    f"({summary.get('train_seconds', 0):.0f} s in all) on {data.get('machine', 'the training machine (not recorded)')}")
    speeds = [r for r in ([test] if test else []) + evaluations if r and r.get("reviews_per_s")]
    body += [f"- prediction from raw text: {r['reviews_per_s']:,} reviews/s on {r['source']}"
             + (f" ({r['machine']})" if r.get("machine") else "") for r in speeds]
    if not summary.get("train_reviews_per_s") and not speeds:
        body.append(f"- not measured yet: `sentiment-rnn evaluate {name} --file FILE` records it")
    return "\n".join(front + [""] + body) + "\n"


_KEY_SETTINGS = {"model": ("cell", "embedding_dim", "hidden_size", "num_layers", "bidirectional", "pooling", "ngrams",
                           "ngram_buckets", "pretrained_embeddings", "freeze_embeddings"),
                 "training": ("epochs", "batch_size", "learning_rate", "class_weights", "seed", "calibrate",
                              "int8_max_accuracy_drop")}


def _validation_accuracy(summary: dict[str, Any], data: dict[str, Any], history: dict[str, Any]) -> float | None:
    """The saved model's validation accuracy: the training summary's, else the wide join's, else the
    best epoch's (a model saved from Python has no summary)."""
    if summary.get("val_accuracy") is not None:
        return summary["val_accuracy"]
    if data.get("wide", {}).get("val_accuracy_joined") is not None:
        return data["wide"]["val_accuracy_joined"]
    best = next((e for e in history.get("epochs", []) if e["epoch"] == history.get("best_epoch")), None)
    return best["val_accuracy"] if best else None


def _architecture(model: dict[str, Any], config: dict[str, Any]) -> str:
    if model["cell"] == "none":
        return f"linear (TF-IDF-weighted token 1-{model['ngrams']} grams, hashed)"
    text = (f"{model['num_layers']}-layer {'bidirectional ' if model['bidirectional'] else ''}{model['cell'].upper()} "
            f"({model['hidden_size']} units, {model['pooling']} pooling)")
    if model.get("ngrams"):
        text += f" joined with a linear model over token 1-{model['ngrams']} grams"
    return text


def _language(code: str) -> str:
    return {"en": "English", "zh": "Chinese", "ja": "Japanese"}.get(code, f"'{code}'")


def _headline(report: dict[str, Any]) -> dict[str, float]:
    if report.get("multilabel"):
        return {"f1": report["macro_f1"], "f1_micro": report["micro_f1"], "accuracy": report["subset_accuracy"]}
    return {"accuracy": report["accuracy"], "f1": report["macro_f1"]}


def _result(dataset: str, split: str, figures: dict[str, float]) -> dict[str, Any]:
    return {"dataset": dataset, "split": split, "metrics": {k: float(v) for k, v in figures.items() if v is not None}}


def _known_failures(checks: dict[str, Any] | None) -> str:
    if not checks:
        return "not measured yet (`sentiment-rnn check`)"
    worst = sorted((t for t in checks["tests"] if t["failure_rate"] >= 0.1), key=lambda t: -t["failure_rate"])
    if not worst:
        return "no behavioural test fails on 10 % or more of its cases"
    return "; ".join(f"{t['name']} ({t['failure_rate'] * 100:.0f} % of cases)" for t in worst[:4])
