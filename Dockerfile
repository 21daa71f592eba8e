# One image for the API, the worker and the beat scheduler; docker-compose picks the command.
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY backend/ ./backend/
RUN useradd --create-home --uid 10001 chatsphere \
    && mkdir -p /data && chown chatsphere /data
USER chatsphere
WORKDIR /srv/backend
# WEB_CONCURRENCY API processes (Prometheus multiprocess mode under /data when > 1).
# FORWARDED_ALLOW_IPS: the reverse proxies allowed to set X-Forwarded-For (see README).
ENV DATA_DIR=/data HOST=0.0.0.0 PORT=8000 WEB_CONCURRENCY=2
EXPOSE 8000

CMD ["python", "-m", "app.serve"]
