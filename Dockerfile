# One image for web (gunicorn), worker (celery worker), scheduler (celery beat) and migrate.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    FOREWARN_VAR_DIR=/app/var

WORKDIR /app

# libmagic1: python-magic detects the type of evidence attachments from their content.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 \
    && rm -rf /var/lib/apt/lists/*

# Dependencies change less often than the code, so they get their own cached layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

# Editable, so the code runs from /app: the settings find templates/ and static/ beside it.
# collectstatic needs settings that load, not real services: the values below are never used.
RUN pip install --no-deps -e . \
    && SECRET_KEY=collectstatic-only \
       AUDIT_HMAC_KEY=collectstatic-only \
       FOREWARN_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
       DATABASE_URL=postgres://unused@localhost/unused \
       REDIS_URL=redis://localhost:6379/0 \
       python manage.py collectstatic --noinput \
    && useradd --system --uid 10001 --no-create-home --home-dir /app forewarn \
    && mkdir -p /app/var/private /app/var/openpgp \
    && chown forewarn /app/var /app/var/private /app/var/openpgp

USER forewarn
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--access-logfile", "-"]
