# Safe Passage hotline: one image for the web, dashboard, worker and release processes (see Procfile).
#   docker build -t safe-passage-hotline .
#   docker run --env-file hotline.env -p 8000:8000 safe-passage-hotline            (web: Twilio's webhooks)
#   docker run --env-file hotline.env -e HOTLINE_WEB_ROLE=dashboard -p 8001:8000 safe-passage-hotline
#                                                                                  (dashboard: /dashboard, /static)
#   docker run --env-file hotline.env safe-passage-hotline hotline worker          (worker)
#   docker run --env-file hotline.env safe-passage-hotline hotline db upgrade      (release)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# The locked runtime packages first (hashes checked; this layer is reused until the lock changes),
# then the hotline itself without resolving anything again.
COPY requirements.txt ./
RUN pip install --upgrade pip setuptools && pip install --require-hashes -r requirements.txt
COPY pyproject.toml README.md ./
COPY hotline ./hotline
COPY flows ./flows
COPY models ./models
COPY wsgi.py gunicorn.conf.py ./
RUN pip install --no-deps . && useradd --system --uid 10001 --home-dir /app hotline
USER hotline

ENV HOTLINE_ENV=production PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os,urllib.request;urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT','8000'), timeout=4)"
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
