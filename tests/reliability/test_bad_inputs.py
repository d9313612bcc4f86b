"""Every bad input of the catalogue (bad_inputs.py) is refused with one line naming the file,
line or field; the service answers each bad request with a 4xx, never a 500."""

from __future__ import annotations

import pytest

from bad_inputs import CLI_CASES, REQUEST_CASES, cli_verdict, request_verdict, run_cli_case


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda c: c.name)
def test_the_cli_refuses_it_in_one_line_naming_where(case, _trained_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_RNN_CACHE", str(tmp_path / "cache"))
    code, stderr = run_cli_case(case, tmp_path / "work", _trained_model_dir)
    assert cli_verdict(case, code, stderr, case.command) is None, stderr


@pytest.fixture(scope="module")
def client(_trained_model_dir):
    from fastapi.testclient import TestClient

    from sentiment_rnn.service.app import create_app

    with TestClient(create_app(_trained_model_dir), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("case", REQUEST_CASES, ids=lambda c: c.name)
def test_the_service_refuses_it_without_a_500(case, client):
    headers = {**({"content-type": case.content_type} if case.content_type else {}), **(case.headers or {})}
    response = client.request(case.method, case.path, content=case.body, headers=headers)
    assert request_verdict(case, response.status_code) is None, response.text[:300]
