"""POST /api/poems, GET /api/models and the OpenAPI description, through FastAPI's TestClient."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from rnnlab.errors import CheckpointError
from rnnlab.pretrained import bundled_dir
from rnnlab.serve import create_app

FIVE_CHAR_QUATRAIN = re.compile(r"^\w{5}，\n\w{5}。\n\w{5}，\n\w{5}。$")


def post(client: TestClient, **body: Any) -> Any:
    return client.post("/api/poems", json=body)


def test_prefix_gives_well_formed_poems(client: TestClient) -> None:
    """A five-character opening: N five-character quatrains that begin with it, and what was written."""
    response = post(client, prefix="床前明月光", num=3, seed=0)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["model"], result["form"], result["form_name"]) == ("tang-lstm", "5x4", "五言绝句")
    assert len(result["poems"]) == 3
    for poem in result["poems"]:
        assert poem.startswith("床前明月光，\n")
        assert FIVE_CHAR_QUATRAIN.match(poem), poem


def test_acrostic_heads_each_line(client: TestClient) -> None:
    result = post(client, acrostic="深度学习", form="7x4", rhyme=True, seed=3).json()
    (poem,) = result["poems"]
    lines = poem.split("\n")
    assert [line[0] for line in lines] == list("深度学习")
    assert [len(line) for line in lines] == [8, 8, 8, 8]
    assert result["form_name"] == "七言绝句"


def test_seed_makes_output_repeat(client: TestClient) -> None:
    body = {"prefix": "春眠", "num": 2, "seed": 42, "temperature": 1.2}
    first, second = (post(client, **body).json()["poems"] for _ in range(2))
    assert first == second
    assert post(client, **{**body, "seed": 43}).json()["poems"] != first


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"prefix": "床" * 33}, "prefix", "at most 32"),
        ({"prefix": "moon light"}, "prefix", "Chinese characters"),
        ({"acrostic": "深度。"}, "acrostic", "Chinese characters only"),
        ({"acrostic": "一二三四五六七八九"}, "acrostic", "at most 8"),
        ({"num": 0}, "num", "greater than or equal to 1"),
        ({"num": 11}, "num", "less than or equal to 10"),
        ({"temperature": -1}, "temperature", "greater than or equal to 0"),
        ({"top_p": 0}, "top_p", "greater than 0"),
        ({"top_k": -1}, "top_k", "greater than or equal to 0"),
        ({"seed": -5}, "seed", "greater than or equal to 0"),
        ({"form": "6x4"}, "form", "'5x4', '7x4', '5x8' or '7x8'"),
        ({"temprature": 1}, "temprature", "not permitted"),
    ],
)
def test_out_of_limits_input_is_422_naming_the_field(
    client: TestClient, body: dict[str, Any], field: str, words: str
) -> None:
    response = post(client, **body)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", field]
    assert words in error["msg"]


def test_latin_letters_are_listed(client: TestClient) -> None:
    (error,) = post(client, prefix="床前ab").json()["detail"]
    assert "'a', 'b'" in error["msg"]


def test_unknown_characters_are_listed(client: TestClient) -> None:
    """Characters that pass the field check but that the model never saw: rnnlab's own message."""
    response = post(client, prefix="床前𠀀月光")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "𠀀" in detail and "does not know" in detail


def test_impossible_combination_is_422_with_rnnlab_message(client: TestClient) -> None:
    response = post(client, acrostic="深度学习", form="5x8")
    assert response.status_code == 422
    assert "acrostic of 4 characters needs 4 lines" in response.json()["detail"]


def test_metre_gives_regulated_poems_and_refuses_a_breaking_prefix(client: TestClient) -> None:
    """ "metre": true writes poems the metre checker accepts; a prefix that breaks it is a 422 naming it."""
    from rnnlab.poetics.checker import check_poem

    response = post(client, prefix="白日依山尽", metre=True, num=2, seed=3)
    assert response.status_code == 200, response.text
    for poem in response.json()["poems"]:
        assert check_poem(poem).regulated, poem


def test_every_regulated_form_comes_with_the_checkers_tone_marks(client: TestClient) -> None:
    """Asked for with "tone_marks", each poem's "metre" is `rnnlab metre`'s verdict: one tone mark
    per character of every line, the same pattern, rhyme group and violations as check_poem; text
    of no regulated form gets null."""
    from rnnlab.poetics.checker import check_poem
    from rnnlab.serve.app import metre_info

    assert post(client, prefix="床前明月光", num=1, seed=5).json()["metre"] is None  # only on request
    body = post(client, prefix="床前明月光", num=3, seed=5, tone_marks=True).json()
    assert len(body["metre"]) == len(body["poems"]) == 3
    for poem, metre in zip(body["poems"], body["metre"], strict=True):
        report = check_poem(poem)
        assert [len(t) for t in metre["tones"]] == [len(line) for line in report.lines]
        assert metre["tones"] == report.to_dict()["tones"]
        assert set("".join(metre["tones"])) <= set("平仄〇？")
        assert (metre["pattern"], metre["rhyme_group"]) == (report.pattern.name, report.rhyme_group)
        assert metre["regulated"] == report.regulated
        assert [(v["line"], v["col"], v["rule"]) for v in metre["violations"]] == [
            (v.line, v.col, v.rule.value) for v in report.violations
        ]
    assert metre_info("春眠不觉晓，处处闻啼鸟。") is None  # two lines: no form to judge
    response = post(client, prefix="春风春风", metre=True)
    assert response.status_code == 422
    assert "character 4 of line 1" in response.json()["detail"]


def test_unknown_model_lists_the_options(client: TestClient) -> None:
    response = post(client, prefix="春", model="gpt")
    assert response.status_code == 422
    assert "unknown model 'gpt'" in response.json()["detail"] and "tang-lstm" in response.json()["detail"]


def test_models_are_listed_with_descriptions(client: TestClient) -> None:
    (model,) = client.get("/api/models").json()
    assert model["name"] == "tang-lstm" and model["default"] is True and model["engine"] == "numpy"
    assert "LSTM" in model["description"] and "perplexity" in model["description"]


def test_extra_models_are_offered_and_loaded_once(tmp_path: Path) -> None:
    """--model NAME=RUN_DIR: a second model beside the default; each loads on first use, then is reused."""
    app: FastAPI = create_app({"copy": bundled_dir()})
    client = TestClient(app)
    assert [m["name"] for m in client.get("/api/models").json()] == ["tang-lstm", "copy"]
    registry = app.state.registry
    assert registry.loaded() == [], "nothing loads before a request needs it"
    assert post(client, prefix="床前明月光", model="copy", seed=1).json()["model"] == "copy"
    assert registry.loaded() == ["copy"]
    assert registry.get("copy") is registry.get("copy")
    with pytest.raises(CheckpointError, match="not a run folder"):
        create_app({"bad": tmp_path})


def test_openapi_documents_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/poems", "/api/models"} <= set(spec["paths"])
    request = spec["components"]["schemas"]["GenerateRequest"]["properties"]
    assert request["prefix"]["maxLength"] == 32
    assert request["num"]["maximum"] == 10
    assert client.get("/docs").status_code == 200


def test_page_and_its_assets_are_served(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="prefix"' in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200, asset
