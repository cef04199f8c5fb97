"""gunicorn settings for the hotline's web processes (values from the environment).

Two pools of the same app (wsgi.py), so no sign-in, page, report or export ever takes a process
that Twilio is waiting on: HOTLINE_WEB_ROLE=twilio (the default; the Procfile's `web`, port 8000)
answers Twilio's webhooks and /healthz; HOTLINE_WEB_ROLE=dashboard (the Procfile's `dashboard`,
port 8001) serves /dashboard and /static, at a lower CPU priority. nginx routes by path
(deploy/nginx/hotline.conf). Either pool can answer every route; only the routing divides them.
"""

import os

ROLES = {
    # role: (default port, default processes, request timeout in seconds, niceness)
    # Twilio waits 15 s in all, connect included: a request still running at 14 s is already lost,
    # so the worker is recycled (its transaction rolls back) and Twilio's retry is deduplicated.
    "twilio": ("8000", "2", "14", 0),
    # A year's report or export may take longer than Twilio's 15 s; the board yields the CPU to Twilio.
    "dashboard": ("8001", "2", "60", 19),
}
role = os.environ.get("HOTLINE_WEB_ROLE", "twilio")
if role not in ROLES:
    raise SystemExit(f"HOTLINE_WEB_ROLE must be one of {', '.join(ROLES)}, not {role!r}")
default_port, default_workers, default_timeout, niceness = ROLES[role]
proc_name = f"hotline-{role}"

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', default_port)}"
concurrency = "DASHBOARD_CONCURRENCY" if role == "dashboard" else "WEB_CONCURRENCY"
workers = int(os.environ.get(concurrency, default_workers))
# The web processes run behind one proxy (deploy/nginx, or a platform's router) that sends
# X-Forwarded-For and X-Forwarded-Proto: the client's address is the one it saw. Set 0 when clients
# connect to gunicorn directly (then forged headers are ignored), 2 behind a CDN in front of nginx.
os.environ.setdefault("HOTLINE_TRUSTED_PROXIES", "1")
# sync: one request per process, the simplest model; gthread with GUNICORN_THREADS > 1 also works
# (the shared flow machines lock their own bookkeeping).
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", default_timeout))
graceful_timeout = 20
keepalive = 5
# A guard against slow leaks (memory stays flat in the soak): each worker is replaced after about
# 10,000 requests. While one is replaced, the others carry every request for a moment, which
# shows in the slowest 1% of a surge: every 2,000 it was every few seconds at 700 texts/s.
max_requests = 10000
max_requests_jitter = 1000
# The master loads the app once and forks the workers: a replaced worker needs no fresh import,
# and the workers share the loaded code's memory. Each worker starts without any database
# connection of the master's (post_worker_init below).
preload_app = True
accesslog = "-"
errorlog = "-"
# Path only (%(U)s), never the query string, referer or user agent: no personal data in access logs
# (docs/privacy.md). Error lines are masked by hotline.plumbing.privacy in every worker.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def on_starting(server):
    """Mask phone-number-like digits in the master's own log lines (workers do it in create_app)."""
    from hotline.plumbing.privacy import install_log_scrubbing

    install_log_scrubbing()
    if niceness:
        # Forked workers inherit it: on a shared host, argon2 sign-ins never starve a webhook.
        os.nice(niceness)


def post_worker_init(worker):
    """Leave the master's pooled database connections (if it made any) to the master."""
    hotline = getattr(worker.wsgi, "extensions", {}).get("hotline")
    if hotline is not None:
        hotline.db.engine.dispose(close=False)
