"""POST /api/couplets and GET /api/couplets/models: limits and errors as for poems."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rnnlab.serve import create_app

from ..tasks._couplets import train_tiny_couplets


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    run = train_tiny_couplets(tmp_path_factory.mktemp("serve") / "run", steps=10)
    return TestClient(create_app(couplet_models={"tiny": run}))


def test_models_list_the_bundled_default_and_ours(client: TestClient) -> None:
    """The bundled couplet model is the default; a model given to create_app is offered beside it."""
    models = client.get("/api/couplets/models").json()
    assert [m["name"] for m in models] == ["couplet-gru", "tiny"]
    assert models[0]["default"] and "encoder–decoder" in models[0]["description"]
    assert [m["engine"] for m in models] == ["numpy", "numpy"]


def test_answer(client: TestClient) -> None:
    """A request gets `num` lower lines as long as the upper line; the same seed repeats them."""
    body = {"upper": " 海内存知己，", "num": 2, "seed": 5, "model": "tiny"}
    first = client.post("/api/couplets", json=body)
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["upper"] == "海内存知己" and result["model"] == "tiny"
    assert len(result["lowers"]) == 2 and all(len(x) == 5 for x in result["lowers"])
    assert client.post("/api/couplets", json=body).json() == result
    beams = client.post("/api/couplets", json={"upper": "明月，松间照", "beam": 3, "num": 3, "model": "tiny"})
    assert [x[2] for x in beams.json()["lowers"]] == ["，"] * 3


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"upper": "moon", "model": "tiny"}, 422, "Chinese characters"),
        ({"upper": "海内存龘己", "model": "tiny"}, 422, "does not know: 龘"),
        ({"upper": "海内存知己", "num": 11, "model": "tiny"}, 422, "less than or equal to 10"),
        ({"upper": "海内存知己", "num": 3, "beam": 2, "model": "tiny"}, 422, "--num ≤ --beam"),
        ({"upper": "海" * 41, "model": "tiny"}, 422, "at most 40"),
        ({"upper": "海内存知己", "model": "nope"}, 422, "unknown couplet model"),
        ({"upper": "海内存知己", "colour": "red"}, 422, "Extra inputs"),
    ],
)
def test_errors(client: TestClient, body: dict[str, object], status: int, message: str) -> None:
    """Bad requests get 422 with a message naming the problem."""
    response = client.post("/api/couplets", json=body)
    assert response.status_code == status
    assert message in response.text


def test_page_has_the_couplet_tab(client: TestClient) -> None:
    """The page carries the 对联 tab and its script."""
    page = client.get("/").text
    assert "对联" in page and "/static/couplet.js" in page
    assert client.get("/static/couplet.js").status_code == 200


def test_bundled_folder_is_checked(tmp_path: Path) -> None:
    """A couplet model folder without config.json fails when the app is created, not at the first request."""
    from rnnlab.errors import CheckpointError

    with pytest.raises(CheckpointError, match="not a run folder"):
        create_app(couplet_models={"bad": tmp_path})
