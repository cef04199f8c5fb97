"""The least any signed webhook costs: the baseline's static TwiML, after what no webhook may skip.

Reads Twilio's form and checks its signature with the hotline's own check, then answers as
bench/baseline.py does, under the same gunicorn settings. Between the baseline and this lies the
cost of the checks alone; between this and an SMS turn, everything the turn does.
"""

from flask import Flask, Response, abort, request

from bench.baseline import DOCUMENT, healthz
from bench.harness import PUBLIC_URL, TOKEN
from hotline.web.twilio_webhook import signed_by_twilio

app = Flask(__name__)
app.get("/healthz")(healthz)


@app.post("/twilio/sms")
def sms() -> Response:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signed_by_twilio(TOKEN, PUBLIC_URL + "/twilio/sms", request.form, signature):
        abort(403)
    return Response(DOCUMENT, mimetype="text/xml")
