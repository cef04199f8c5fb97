"""The baseline every Flask webhook is bounded by: static TwiML, same gunicorn settings."""

from flask import Flask, Response
from twilio.twiml.messaging_response import MessagingResponse

app = Flask(__name__)
DOCUMENT = str(MessagingResponse().message("Static answer"))


@app.post("/twilio/sms")
def sms() -> Response:
    return Response(DOCUMENT, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    return Response('{"status": "ok"}', mimetype="application/json")
