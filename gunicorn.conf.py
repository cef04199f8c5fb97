"""gunicorn settings for the hotline's web process (values from the environment)."""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"
# The web process runs behind one proxy (deploy/nginx, or a platform's router) that sends
# X-Forwarded-For and X-Forwarded-Proto: the client's address is the one it saw. Set 0 when clients
# connect to gunicorn directly (then forged headers are ignored), 2 behind a CDN in front of nginx.
os.environ.setdefault("HOTLINE_TRUSTED_PROXIES", "1")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# sync: one request per process, the simplest model; gthread with GUNICORN_THREADS > 1 also works
# (the shared flow machines lock their own bookkeeping).
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
# Twilio waits 15 s in all, connect included: a request still running at 14 s is already lost,
# so the worker is recycled (its transaction rolls back) and Twilio's retry is deduplicated.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "14"))
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


def post_worker_init(worker):
    """Leave the master's pooled database connections (if it made any) to the master."""
    hotline = getattr(worker.wsgi, "extensions", {}).get("hotline")
    if hotline is not None:
        hotline.db.engine.dispose(close=False)
