"""The real server as users run it: schemathesis over its OpenAPI schema, SIGTERM, and the web page
in a real browser (Debian's Chromium driven by Playwright)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path

import subprocess
import sys

import pytest

from conftest import ROOT, ZH_NEG, ZH_POS, start_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"


def test_schemathesis_all_checks_against_the_real_server(live_server, tmp_path):
    """Every generated request (valid and invalid) gets a documented, conforming answer, never a 5xx."""
    schemathesis = Path(sys.executable).with_name("schemathesis")
    result = subprocess.run([str(schemathesis), "--config-file", str(Path(__file__).with_name("schemathesis.toml")),
                             "run", live_server + "/openapi.json", "--checks", "all", "--max-examples", "30",
                             "--seed", "1"], capture_output=True, text=True, timeout=600,
                            cwd=tmp_path)  # its cache goes to tmp, not the repository
    (tmp_path / "schemathesis.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "No issues found" in result.stdout


def test_sigterm_finishes_in_flight_requests_then_exits(_trained_model_dir):
    proc, url = start_server(_trained_model_dir)
    results = []

    def request():
        body = json.dumps({"texts": ["a great film"] * 100}).encode()  # 4 x 100 fits the 512-text queue
        req = urllib.request.Request(url + "/v1/predict", body, {"content-type": "application/json"})
        try:
            results.append(urllib.request.urlopen(req, timeout=30).status)
        except Exception as exc:  # noqa: BLE001
            results.append(repr(exc))

    threads = [threading.Thread(target=request) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join()
    # uvicorn shuts down gracefully, then re-raises the signal: exit status is "terminated by SIGTERM".
    assert proc.wait(timeout=30) in (0, -signal.SIGTERM)
    assert results == [200] * 4  # every request in flight was answered before exit


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's chromium")
def test_web_page_in_a_real_browser(live_server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone's width
        page.goto(live_server + "/")
        review = page.get_by_label("Review", exact=True)
        assert "The movie was quite slow" in review.input_value()
        typed = "Wonderful acting, and a GREAT story... It was great!"
        review.fill(typed)
        requests = []
        page.on("request", lambda r: requests.append(r.url.rsplit("/", 1)[-1]) if "/v1/" in r.url else None)
        page.get_by_role("button", name="Analyze").click()
        page.wait_for_selector("#verdict")
        assert page.locator("#verdict").inner_text().startswith("positive")
        assert requests == ["predict"]  # explanations only when asked for: under load they wait behind predictions
        page.get_by_role("button", name="Which words drove it").click()
        page.wait_for_selector("#words")
        assert page.locator("#words span.drives-positive").count() >= 1
        assert page.locator("#words").inner_text() == typed  # the user's own text, not the cleaned tokens
        spans = page.locator("#words span")
        assert "GREAT" in [spans.nth(i).inner_text() for i in range(spans.count())]  # its own capitals, in place
        # Word by word: the probability after each word (both readings) and the LSTM's gates, drawn.
        page.get_by_role("button", name="Word by word").click()
        page.wait_for_selector("#memory svg")
        tokens = page.evaluate("fetch('/v1/memory', {method: 'POST', headers: {'Content-Type': 'application/json'}, "
                               f"body: JSON.stringify({{text: {json.dumps(typed)}}})}}).then(r => r.json())")["tokens"]
        lines = page.locator("#memory polyline")
        assert [lines.nth(i).get_attribute("data-series") for i in range(lines.count())][:2] == [
            "p(positive) reading forward", "p(positive) reading backward"]
        assert page.locator("#memory svg").first.locator("circle").count() == 2 * len(tokens)
        assert page.locator("#gates polyline").count() == 3  # input, forget, output
        assert page.locator("#memory svg").first.bounding_box()["width"] > 200
        page.locator("#memory").screenshot(path=str(ARTIFACTS / "web-page-word-by-word.png"))
        page.screenshot(path=str(ARTIFACTS / "web-page-one-review.png"), full_page=True)

        page.get_by_label("Many reviews, one per line", exact=True).check()
        page.get_by_label("Reviews, one per line", exact=True).fill("a great film . it was superb\nan awful film . it was boring")
        page.keyboard.press("Control+Enter")  # keyboard works as well as the button
        page.wait_for_selector("#batch")
        rows = page.locator("#batch tbody tr")
        assert rows.count() == 2
        assert rows.nth(1).locator("td").nth(2).inner_text() == "negative"
        page.screenshot(path=str(ARTIFACTS / "web-page-many-reviews.png"), full_page=True)
        browser.close()




@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's chromium")
def test_web_page_says_busy_on_503(live_server):
    """A full explanation queue answers 503: the page says so and stays usable."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.route("**/v1/explain", lambda route: route.fulfill(status=503, content_type="application/json",
                                                               headers={"Retry-After": "1"},
                                                               body='{"detail": "4 explanations are queued"}'))
        page.goto(live_server + "/")
        page.get_by_role("button", name="Analyze").click()
        page.wait_for_selector("#verdict")
        page.get_by_role("button", name="Which words drove it").click()
        page.wait_for_selector("#explain-result .busy")
        assert "busy" in page.locator("#explain-result .busy").inner_text()
        assert page.get_by_role("button", name="Which words drove it").is_enabled()  # try again
        browser.close()


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"), reason="needs Debian's chromium")
def test_web_page_shades_the_characters_of_a_chinese_review(tmp_path):
    from playwright.sync_api import sync_playwright

    from sentiment_rnn import SentimentClassifier

    settings = {"tokenizer": {"min_frequency": 1}, "model": {"embedding_dim": 16, "hidden_size": 16},
                "training": {"epochs": 15, "batch_size": 8, "learning_rate": 0.02, "val_fraction": 0.0}}
    SentimentClassifier(**settings).fit(ZH_POS * 4 + ZH_NEG * 4, ["positive"] * 20 + ["negative"] * 20).save(
        tmp_path / "zh-model")
    proc, url = start_server(tmp_path / "zh-model")
    ARTIFACTS.mkdir(exist_ok=True)
    typed = "味道很好，就是送餐有点慢！"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu",
                                                                              "--no-first-run"])
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(url + "/")
            page.get_by_label("Review", exact=True).fill(typed)
            page.get_by_role("button", name="Analyze").click()
            page.wait_for_selector("#verdict")
            page.get_by_role("button", name="Which words drove it").click()
            page.wait_for_selector("#words")
            words = page.locator("#words")
            assert words.inner_text() == typed  # every character in place, full-width marks too
            shaded = words.locator("span")
            pieces = [shaded.nth(i).inner_text() for i in range(shaded.count())]
            assert "好" in pieces and "，" in pieces and "！" in pieces  # one span per character token
            assert "就" not in pieces  # a stopword: shown as plain text
            box = words.locator("span", has_text="好").first.bounding_box()
            assert box is not None and box["width"] > 5  # drawn with a CJK font, not an empty box
            page.screenshot(path=str(ARTIFACTS / "web-page-chinese-review.png"), full_page=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
