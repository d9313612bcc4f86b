#!/usr/bin/env python
"""The tutorial's Keras pipeline at inference, end to end from raw text and model only (issue 17).

Runs in the TensorFlow venv (`../shared/bench/README.md`), never in ours; `compare_seed.py` calls it
with the same file of raw reviews that our `predict` reads, so that both sides do the same work:

- end to end: read the file (one review per line) → the tutorial's NLTK stopword removal → its
  fitted `Tokenizer.texts_to_sequences` → `pad_sequences(maxlen=512, post)` → `model.predict` →
  one JSON line per review (label, p_positive) written to a file;
- model only: `model.predict` on the padded ids made beforehand (what `seed_keras.py` times).

Each at the tutorial's batch of 32 and at 256 (our batch), after a warm-up on as many other reviews. The
Tokenizer is fitted on the stopword-free training reviews, as the tutorial does (not timed). The
model's weights are its initial ones: the arithmetic, hence the speed, is the same as after
training (`seed_keras.py --full` measures the trained model's accuracy). Prints `RESULT_JSON {...}`.

    /tmp/venv-tf/bin/python benchmarks/keras_pipeline.py --reviews FILE --bench ../shared/bench
"""

import argparse
import json
import os
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviews", required=True, help="raw reviews, one per line (the file our predict reads)")
    parser.add_argument("--bench", required=True, help="folder of the tutorial's common.py (../shared/bench)")
    parser.add_argument("--batch-sizes", default="32,256")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # the Keras 2 API, what tf.keras was when the tutorial was written
    sys.path.insert(0, args.bench)
    import common  # the tutorial's loading and stopword step, shared with seed_keras.py
    import tensorflow as tf
    import tf_keras as keras
    from tf_keras.preprocessing.sequence import pad_sequences
    from tf_keras.preprocessing.text import Tokenizer

    tf.random.set_seed(common.SEED)
    started = time.perf_counter()
    train_texts, _, test_texts, _ = common.load_imdb()
    stopwords = common.load_stopwords()
    tokenizer = Tokenizer(oov_token="<OOV>")
    tokenizer.fit_on_texts(common.remove_stopwords(train_texts, stopwords))
    fit_s = time.perf_counter() - started

    layers = keras.layers
    model = keras.Sequential([
        keras.Input(shape=(common.MAXLEN,), dtype="int32"),
        layers.Embedding(len(tokenizer.word_index) + 1, 64),
        layers.Bidirectional(layers.LSTM(64, return_sequences=True)),
        layers.Bidirectional(layers.LSTM(64)),
        layers.Dense(32, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])

    def ids(texts):
        sequences = tokenizer.texts_to_sequences(common.remove_stopwords(texts, stopwords))
        return pad_sequences(sequences, maxlen=common.MAXLEN, padding="post", truncating="post")

    def end_to_end(path: str, out_path: str, batch_size: int) -> int:
        with open(path, encoding="utf-8") as handle:
            texts = [line.rstrip("\n") for line in handle if line.strip()]
        probabilities = model.predict(ids(texts), batch_size=batch_size, verbose=0).reshape(-1)
        with open(out_path, "w", encoding="utf-8") as out:
            for p in probabilities:
                out.write(json.dumps({"label": "positive" if p > 0.5 else "negative", "p_positive": float(p)}) + "\n")
        return len(texts)

    with open(args.reviews, encoding="utf-8") as handle:
        timed_ids = ids([line.rstrip("\n") for line in handle if line.strip()])
    # As many other reviews as are timed: predict traces its graph again for each new batch shape
    # (the last, partial batch), which must not land inside a timing.
    warm_up = ids(train_texts[:len(timed_ids)])
    result = {"system": "keras_pipeline", "tensorflow": tf.__version__, "tokenizer_fit_s": round(fit_s, 1),
              "reviews": len(timed_ids), "threads": {"intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                                                     "cpu_count": os.cpu_count()}}
    out_path = args.reviews + ".keras.jsonl"
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        model.predict(warm_up, batch_size=batch_size, verbose=0)  # graph tracing, first-call allocations
        t = time.perf_counter()
        model.predict(timed_ids, batch_size=batch_size, verbose=0)
        result[f"model_only_reviews_per_s_batch{batch_size}"] = round(len(timed_ids) / (time.perf_counter() - t), 1)
        t = time.perf_counter()
        n = end_to_end(args.reviews, out_path, batch_size)
        result[f"end_to_end_reviews_per_s_batch{batch_size}"] = round(n / (time.perf_counter() - t), 1)
    os.remove(out_path)
    print("RESULT_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
