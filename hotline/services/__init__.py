"""The services: one module (or package) per unit of work; each takes a session and a Runtime.

conversation (a participant's turn), commands (staff texts), dispatch/ (requests, offers and
escalation, rides, relays and calls), alerts (the sergeant's alerts mid-request), callbacks,
roster, retention (purges and DELETE), report, voice_call/ (the call flow: script, steps, record,
dial chain), simulator and call_simulator (the development simulators).

Timer handlers register themselves with hotline.plumbing.timers when their module is imported.
May import hotline.plumbing, flows and models; never hotline.web or the entry points.
Checked by `lint-imports` (pyproject.toml) and tests/test_architecture.py.
"""
