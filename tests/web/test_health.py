"""GET /healthz tells a load balancer whether this process can answer Twilio."""

from hotline import create_app
from tests.support import hotline_config


def test_healthy(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_database_down_is_unhealthy():
    app = create_app(
        hotline_config("postgresql+psycopg://postgres@127.0.0.1:9/nowhere?connect_timeout=2"), environ={}
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"
