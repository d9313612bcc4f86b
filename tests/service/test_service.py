"""The HTTP service in process (httpx via Starlette's TestClient, lifespan included): responses,
limits and status codes, metrics, micro-batching and back-pressure."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sentiment_rnn import SentimentClassifier
from sentiment_rnn.config import ServiceConfig
from sentiment_rnn.service.app import create_app
from sentiment_rnn.service.batcher import MicroBatcher, QueueFull

LIMITS = ServiceConfig(max_texts=4, max_chars=300, max_body_bytes=4000)


@pytest.fixture(scope="module")
def client(_trained_model_dir):
    with TestClient(create_app(_trained_model_dir, LIMITS)) as c:
        yield c


def test_predict_matches_the_library(client, _trained_model_dir):
    texts = ["a great film", "dull and pointless"]
    response = client.post("/v1/predict", json={"texts": texts})
    assert response.status_code == 200
    body = response.json()
    expected = SentimentClassifier.load(_trained_model_dir).predict_proba(texts)
    got = np.array([[r["probabilities"]["negative"], r["probabilities"]["positive"]] for r in body["results"]])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert body["model"]["digest"] and body["model"]["name"]
    assert [r["label"] for r in body["results"]] == ["positive", "negative"]


def test_explain_gives_a_contribution_per_token(client):
    response = client.post("/v1/explain", json={"text": "A great film, zyzzyva... it was AWFUL"})
    assert response.status_code == 200
    body = response.json()
    assert body["method"] == "occlusion"
    # The cleaned words, out-of-vocabulary ones as themselves.
    assert [t["token"] for t in body["tokens"]] == ["a", "great", "film", ",", "zyzzyva", ".", "it", "was", "awful"]
    by_token = {t["token"]: t["contributions"]["positive"] for t in body["tokens"]}
    assert by_token["great"] > 0 > by_token["awful"]
    assert set(body["faithfulness"]) == {"comprehensiveness", "sufficiency", "random_comprehensiveness",
                                         "random_sufficiency"}


def test_memory_follows_the_prediction_word_by_word(client):
    text = "A great film, zyzzyva... it was AWFUL"
    body = client.post("/v1/memory", json={"text": text}).json()
    assert body["tokens"] == ["a", "great", "film", ",", "zyzzyva", ".", "it", "was", "awful"]
    assert len(body["probability"]) == len(body["probability_backward"]) == len(body["tokens"])
    predicted = client.post("/v1/predict", json={"texts": [text]}).json()["results"][0]["probabilities"]["positive"]
    assert body["probability"][-1] == pytest.approx(predicted, abs=1e-5)  # the whole review read
    assert body["probability_backward"][-1] == pytest.approx(predicted, abs=1e-5)
    assert set(body["gates"]) == {"input", "forget", "output"} and len(body["gates"]["forget"]) == len(body["tokens"])
    assert body["class"] == "positive" and body["movers"][0]["token"] in body["tokens"]


@pytest.mark.parametrize("body, status, message", [
    (b'{"texts": ["ok"', 422, "json_invalid"),
    (b'{"texts": "just a string"}', 422, "list_type"),
    (b'{"texts": [1, 2]}', 422, "string_type"),
    (b'{"texts": ["ok"], "extra": 1}', 422, "extra_forbidden"),
    (b'{"texts": []}', 422, "List should have at least 1 item"),
    (b'{"texts": ["a", "b", "c", "d", "e"]}', 422, "List should have at most 4 items"),
    (b'{"texts": ["' + b"x" * 301 + b'"]}', 422, "String should have at most 300 characters"),
    (b'{"texts": ["bad \xff byte"]}', 400, "not valid UTF-8"),
    (b'{"texts": ["' + b"x" * 5000 + b'"]}', 413, "over the 4000-byte limit"),
])
def test_client_errors_get_the_right_status(client, body, status, message):
    response = client.post("/v1/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert message in response.text


def test_health_readiness_metrics_docs_and_page(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    client.post("/v1/predict", json={"texts": ["fine"]})
    metrics = client.get("/metrics").text
    for name in ("sentiment_requests_total", "sentiment_request_seconds_bucket", "sentiment_batch_size_bucket",
                 "sentiment_queue_depth"):
        assert name in metrics
    assert 'route="/v1/predict",status="200"' in metrics
    assert client.get("/docs").status_code == 200
    assert "/v1/predict" in client.get("/openapi.json").json()["paths"]
    page = client.get("/").text
    assert "<textarea" in page and "The movie was quite slow" in page


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=300), min_size=1, max_size=4))
def test_any_unicode_text_gets_an_answer(client, texts):
    response = client.post("/v1/predict", json={"texts": texts})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(texts)
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-5 for r in results)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.text(max_size=300), st.sampled_from(["", " ", "\n\t", "\x00\x01", "🙂" * 100, "<br />" * 40])))
def test_any_text_can_be_explained(client, text):
    response = client.post("/v1/explain", json={"text": text})
    assert response.status_code == 200, response.text


def test_batcher_coalesces_concurrent_requests():
    calls = []

    def predict(texts):
        calls.append(len(texts))
        return np.zeros((len(texts), 2), dtype=np.float32) + np.arange(len(texts))[:, None]

    async def scenario():
        batcher = MicroBatcher(predict, max_batch_size=64, max_wait_ms=50)
        batcher.start()
        results = await asyncio.gather(*(batcher.submit([f"t{i}"]) for i in range(20)))
        await batcher.stop()
        return results

    results = asyncio.run(scenario())
    assert sum(calls) == 20 and len(calls) < 5
    assert all(r.shape == (1, 2) for r in results)


def test_a_request_the_model_fails_on_fails_alone_not_its_batch(_trained_model_dir):
    """One poisoned text batched with 20 innocent requests used to answer all 21 with 500."""
    calls = []

    def predict(texts):
        calls.append(len(texts))
        if "poison" in texts:
            raise IndexError("index 70000 is out of bounds for the embedding")
        return np.zeros((len(texts), 2), dtype=np.float32) + np.arange(len(texts))[:, None]

    async def scenario():
        batcher = MicroBatcher(predict, max_batch_size=64, max_wait_ms=50)
        batcher.start()
        texts = [[f"t{i}"] for i in range(10)] + [["poison"]] + [[f"u{i}"] for i in range(10)]
        results = await asyncio.gather(*(batcher.submit(t) for t in texts), return_exceptions=True)
        await batcher.stop()
        return results

    results = asyncio.run(scenario())
    assert calls[0] == 21  # one batch first, then one request at a time
    failed = [i for i, r in enumerate(results) if isinstance(r, Exception)]
    assert failed == [10] and all(r.shape == (1, 2) for i, r in enumerate(results) if i != 10)

    app = create_app(_trained_model_dir)
    with TestClient(app) as client:
        real = app.state.classifier.predict_proba
        app.state.batcher.predict = lambda texts: predict(texts) if "poison" in texts else real(texts)
        answer = client.post("/v1/predict", json={"texts": ["poison"]})
        assert answer.status_code == 422 and "could not score this request (IndexError" in answer.json()["detail"]
        assert client.post("/v1/predict", json={"texts": ["a great film"]}).status_code == 200


def test_batcher_rejects_when_the_queue_is_full():
    release = threading.Event()

    def slow(texts):
        release.wait(5)
        return np.zeros((len(texts), 2), dtype=np.float32)

    async def scenario():
        batcher = MicroBatcher(slow, max_batch_size=1, max_wait_ms=0, max_queue=3)
        batcher.start()
        waiting = [asyncio.create_task(batcher.submit(["x"])) for _ in range(3)]
        await asyncio.sleep(0.05)
        with pytest.raises(QueueFull):
            await batcher.submit(["one too many"])
        release.set()
        await asyncio.gather(*waiting)
        assert batcher.pending_texts == 0
        await batcher.submit(["accepted again"])  # recovers once the queue drains
        await batcher.stop()

    asyncio.run(scenario())


def hold_predictions(app, seconds: float) -> threading.Event:
    """Make the app's model wait (up to `seconds`) until the returned event is set."""
    release = threading.Event()
    original = app.state.batcher.predict
    app.state.batcher.predict = lambda texts: (release.wait(seconds), original(texts))[1]
    return release


def test_full_queue_answers_503_with_retry_after(_trained_model_dir):
    app = create_app(_trained_model_dir, ServiceConfig(max_queue=1))
    with TestClient(app) as c:
        release = hold_predictions(app, 5)
        first = threading.Thread(target=lambda: c.post("/v1/predict", json={"texts": ["occupies the queue"]}))
        first.start()
        import time

        time.sleep(0.3)
        response = c.post("/v1/predict", json={"texts": ["rejected"]})
        release.set()
        first.join()
        assert response.status_code == 503 and response.headers["retry-after"] == "1"
        assert c.post("/v1/predict", json={"texts": ["fine again"]}).status_code == 200


def test_timeout_answers_504(_trained_model_dir):
    app = create_app(_trained_model_dir, ServiceConfig(timeout_s=0.2))
    with TestClient(app) as c:
        release = hold_predictions(app, 2)
        response = c.post("/v1/predict", json={"texts": ["slow"]})
        release.set()
        assert response.status_code == 504


def test_security_headers_and_json_only(client):
    api = client.post("/v1/predict", json={"texts": ["fine"]})
    assert api.headers["x-content-type-options"] == "nosniff" and api.headers["x-frame-options"] == "DENY"
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    page = client.get("/")
    policy = page.headers["content-security-policy"]
    assert "script-src 'sha256-" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    # a cross-site form can send text/plain without a preflight: only application/json is taken
    form = client.post("/v1/predict", content='{"texts": ["fine"]}', headers={"content-type": "text/plain"})
    assert form.status_code == 415 and "application/json" in form.json()["detail"]
    assert client.post("/v1/explain", content='{"text": "fine"}').status_code == 415  # no content type at all
    ok = client.post("/v1/predict", content='{"texts": ["fine"]}', headers={"content-type": "application/json; charset=utf-8"})
    assert ok.status_code == 200


def test_explanations_queue_apart_and_never_hold_up_predictions(_trained_model_dir, monkeypatch):
    import time

    import sentiment_rnn.service.app as app_module

    started, release = threading.Event(), threading.Event()
    real = app_module.explain

    def slow_explanation(*args):  # a long review's explanation, held until the test lets it finish
        started.set()
        release.wait(30)
        return real(*args)

    monkeypatch.setattr(app_module, "explain", slow_explanation)
    with TestClient(create_app(_trained_model_dir, ServiceConfig(max_explain_queue=2, timeout_s=20))) as client:
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(
            client.post("/v1/explain", json={"text": "a great film"}).status_code)) for _ in range(2)]
        for thread in threads:
            thread.start()
        assert started.wait(10)
        while client.app.state.explainer.waiting < 2:  # one running, one queued
            time.sleep(0.01)
        extra = client.post("/v1/explain", json={"text": "fine"})
        assert extra.status_code == 503 and "max_explain_queue" in extra.json()["detail"]
        assert extra.headers["retry-after"] == "1"
        predicted = client.post("/v1/predict", json={"texts": ["a great film"]})  # while explanations run
        assert predicted.status_code == 200
        release.set()
        for thread in threads:
            thread.join(30)
        assert answers == [200, 200]


def test_explanations_have_a_shorter_text_limit(_trained_model_dir):
    with TestClient(create_app(_trained_model_dir, ServiceConfig(max_explain_chars=50))) as client:
        assert client.post("/v1/explain", json={"text": "a great film " * 5}).status_code == 422
        assert client.post("/v1/predict", json={"texts": ["a great film " * 5]}).status_code == 200
        assert client.post("/v1/explain", json={"text": "a great film"}).status_code == 200
