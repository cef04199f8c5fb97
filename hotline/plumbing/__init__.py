"""The plumbing: what every service stands on, knowing no service by name.

config (settings), db (the database, units of work), migrations, outbox (texts and calls to
send), timers (deadlines; handlers registered by name), jobs (one worker pass: send, fire),
transport (the only module that talks to Twilio's REST API), privacy (sealing, pseudonyms, log
masking), throttle (rate limits), program (the program file), runtime (what a request or a job
needs), staff (texts for officers and sergeants, alerts), observability (logs and metrics),
provisioning and doctor (setting up and checking a deployment).

May import flows and models only; never hotline.services, hotline.web or the entry points.
Checked by `lint-imports` (pyproject.toml) and tests/test_architecture.py.
"""
