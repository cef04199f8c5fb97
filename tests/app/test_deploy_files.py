"""The deployment files agree: Twilio's webhooks and the dashboard run on processes of their own.

nginx routes by path to two ports; the Procfile, the systemd units and gunicorn.conf.py must start
one pool on each, from the same app. Read from the files themselves, as a deployment would.
"""

from __future__ import annotations

import re
import runpy
import shlex

import pytest

from tests.support import REPO

NGINX = REPO / "deploy" / "nginx" / "hotline.conf"
SYSTEMD = REPO / "deploy" / "systemd"
LOCATION = re.compile(r"location\s+(=\s*)?(\S+)\s*\{([^}]*)\}")


def https_locations() -> dict[str, tuple[bool, str | None]]:
    """The TLS server's locations: path -> (exact match, proxy_pass target)."""
    text = NGINX.read_text()
    server = text[text.index("listen 443") :]
    found = {}
    for exact, path, body in LOCATION.findall(server):
        target = re.search(r"proxy_pass\s+(\S+);", body)
        found[path] = (bool(exact), target.group(1) if target else None)
    return found


def routed_to(path: str) -> str | None:
    """Where nginx sends a request path: an exact location, else the longest matching prefix."""
    locations = https_locations()
    for location, (exact, target) in locations.items():
        if exact and location == path:
            return target
    prefix = max(
        (loc for loc, (exact, _) in locations.items() if not exact and path.startswith(loc)), key=len
    )
    return locations[prefix][1]


def port_of(target: str) -> str:
    return target.rstrip("/").rsplit(":", 1)[1]


def unit(name: str) -> dict[str, str]:
    """A systemd unit's [Service] environment and ExecStart."""
    lines = (SYSTEMD / name).read_text().splitlines()
    environment = {}
    for line in lines:
        if line.startswith("Environment="):
            environment.update(pair.split("=", 1) for pair in shlex.split(line.removeprefix("Environment=")))
    start = next(line.removeprefix("ExecStart=") for line in lines if line.startswith("ExecStart="))
    return {**environment, "ExecStart": start}


def procfile() -> dict[str, str]:
    return dict(line.split(": ", 1) for line in (REPO / "Procfile").read_text().splitlines() if line.strip())


def gunicorn_settings(monkeypatch, **environment) -> dict:
    for name in ("HOTLINE_WEB_ROLE", "PORT", "HOST", "WEB_CONCURRENCY", "DASHBOARD_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(REPO / "gunicorn.conf.py"))


def test_nginx_sends_webhooks_and_the_dashboard_to_different_pools():
    webhooks = {
        routed_to(path) for path in ("/twilio/sms", "/twilio/voice/step", "/twilio/status", "/healthz")
    }
    dashboard = {routed_to(path) for path in ("/dashboard/login", "/dashboard", "/static/board.js")}

    assert len(webhooks) == 1 and len(dashboard) == 1
    assert webhooks != dashboard


def test_each_systemd_unit_listens_where_nginx_sends_its_paths():
    web, board = unit("hotline-web.service"), unit("hotline-dashboard.service")

    assert (web["HOTLINE_WEB_ROLE"], board["HOTLINE_WEB_ROLE"]) == ("twilio", "dashboard")
    assert web["PORT"] == port_of(routed_to("/twilio/sms"))
    assert board["PORT"] == port_of(routed_to("/dashboard/login"))
    assert web["HOST"] == board["HOST"] == "127.0.0.1"


def test_the_procfile_and_the_units_run_the_same_app_and_settings():
    processes = procfile()
    web, board = unit("hotline-web.service"), unit("hotline-dashboard.service")

    assert processes["web"] == "gunicorn -c gunicorn.conf.py wsgi:app"
    assert processes["dashboard"] == "HOTLINE_WEB_ROLE=dashboard " + processes["web"]
    for service in (web, board):
        assert service["ExecStart"] == "/opt/hotline/.venv/bin/" + processes["web"]


@pytest.mark.parametrize(
    ("role", "port", "timeout"), [(None, "8000", 14), ("twilio", "8000", 14), ("dashboard", "8001", 60)]
)
def test_gunicorn_takes_its_port_and_limits_from_the_role(monkeypatch, role, port, timeout):
    settings = gunicorn_settings(monkeypatch, **({"HOTLINE_WEB_ROLE": role} if role else {}))

    assert settings["bind"] == f"0.0.0.0:{port}"
    assert settings["timeout"] == timeout
    assert port_of(routed_to("/dashboard/" if role == "dashboard" else "/twilio/sms")) == port


def test_gunicorn_refuses_an_unknown_role(monkeypatch):
    with pytest.raises(SystemExit, match="HOTLINE_WEB_ROLE"):
        gunicorn_settings(monkeypatch, HOTLINE_WEB_ROLE="everything")
