"""Error pages for people: 400, 403, 404, 405, 500 and the rest, styled like the dashboard.

Any path but the webhooks': /twilio/* keeps the bodies its views give Twilio (an empty 403, TwiML),
and a .json path gets JSON. A page shows the status, a plain sentence and a link back to the board;
it never shows a stack trace or a database error.
"""

from __future__ import annotations

from flask import g, jsonify, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from hotline.web.dashboard.blueprint import bp

TITLES = {
    400: "That form could not be sent",
    401: "Sign in first",
    403: "Your role cannot open this page",
    404: "There is nothing here",
    405: "That is not how this page is used",
    409: "That cannot be done right now",
    413: "That is too much to send at once",
    429: "Too many tries: slow down",
    500: "Something went wrong on our side",
}
PLAIN = {
    400: "The form may have expired. Go back, reload the page and try again.",
    404: "The address may be mistyped, or what it pointed to is gone.",
    405: "Use the buttons and links of the dashboard rather than typing the address.",
    500: "Nothing you did caused this, and it has been logged. Try again; for anything urgent use the radio.",
}


@bp.app_errorhandler(HTTPException)
def error_page(error: HTTPException):
    """Answer an HTTP error with a dashboard page (or JSON), leaving the webhooks' answers alone."""
    if error.response is not None or request.path.startswith("/twilio/") or error.code is None:
        return error
    code = error.code
    if request.path.endswith(".json"):
        return jsonify(error=error.name.lower()), code
    if code >= 500:
        # Flask has logged the failure already (masked like every log line); the page says nothing of it.
        g.user = None  # the page must not ask a database that may be the trouble who is signed in
    else:
        _who_is_signed_in()
    default = type(error).description
    said = error.description if error.description and error.description != default else None
    page = render_template(
        "dashboard/error.html",
        code=code,
        title=TITLES.get(code, error.name),
        said=said,
        plain=PLAIN.get(code, ""),
    )
    return page, code


def _who_is_signed_in() -> None:
    from hotline.web.dashboard.guard import current_user

    try:
        current_user()
    except SQLAlchemyError:
        g.user = None
