"""Safe Passage hotline: the Flask application factory.

Layers, one way down: entry points (this factory, hotline.cli, hotline.worker, hotline.texts_doc)
→ hotline.web → hotline.services → hotline.plumbing → flows and models. Never back up; no circle.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from hotline.plumbing import config as settings
from hotline.plumbing import observability
from hotline.plumbing.db import Database, database_in_use
from hotline.plumbing.privacy import Pseudonyms, Vault, install_log_scrubbing
from hotline.plumbing.program import load_program
from hotline.plumbing.runtime import Runtime

# Twilio caps a body at 1600 characters; nothing legitimate posts more than this.
MAX_CONTENT_LENGTH = 64 * 1024


def create_app(
    test_config: Mapping[str, Any] | None = None,
    *,
    transport: Any = None,
    environ: Mapping[str, str] | None = None,
    instance_path: str | None = None,
) -> Flask:
    """Create the hotline app; settings come from the environment unless given."""
    from flows.texts import Catalog
    from hotline.plumbing.transport import make_transport

    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    # The real environment only: a `.env` file is for the development commands (hotline.cli).
    environ = os.environ if environ is None else environ
    app.config.from_mapping(settings.load(environ, app.instance_path, test_config))
    app.config["SECRET_KEY"] = app.config["HOTLINE_SECRET_KEY"]
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    if test_config:
        app.config.update({k: v for k, v in test_config.items() if k not in settings.SETTINGS})

    program = load_program(app.config["HOTLINE_PROGRAM"])
    app.extensions["hotline"] = Runtime(
        config=app.config,
        db=Database(app.config["DATABASE_URL"]),
        vault=Vault(app.config["HOTLINE_ENCRYPTION_KEYS"]),
        pseudonyms=Pseudonyms(app.config["HOTLINE_SECRET_KEY"]),
        program=program,
        catalog=Catalog(overrides=program.texts, facts=program.facts()),
        transport=transport or make_transport(app.config),
    )
    install_log_scrubbing()
    observability.configure_logging(app)
    proxies = app.config["HOTLINE_TRUSTED_PROXIES"]
    if proxies:
        # The client's address and scheme as the trusted proxies saw them (sign-in limits, audit, HSTS).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    if app.config["HOTLINE_DATABASE_DEFAULT"] and app.config["HOTLINE_ENV"] == "production":
        app.logger.warning("production on the database %s", database_in_use(app.config))

    from hotline.web import bridge, dashboard, health, metrics, security, voice, webhooks

    metrics.init_app(app)
    security.init_app(app)

    for blueprint in (webhooks.bp, voice.bp, bridge.bp, health.bp):
        app.register_blueprint(blueprint)
    app.session_interface = webhooks.Sessions()
    dashboard.init_app(app)
    if app.config["HOTLINE_ENV"] == "development":
        from hotline.web import simulator as simulator_web

        app.register_blueprint(simulator_web.bp)
    return app
