"""The web: Flask blueprints only. Form fields in, TwiML or HTML out; no business rule lives here.

webhooks (texts, delivery status, the SMS fallback), voice (calls), bridge (an officer's call
connected to the participant), twilio_webhook (the signature check and TwiML answers they share),
dashboard/ (the sergeant's board and the staff pages), simulator (the development simulator's
pages), health and metrics.

May import hotline.services, hotline.plumbing, flows and models; never the entry points
(hotline itself, hotline.cli, hotline.worker). Checked by `lint-imports` (pyproject.toml).
"""
