# The procure image: web (gunicorn), worker and beat (celery) all run from it.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FLASK_APP=procure \
    PROCURE_INSTANCE_PATH=/app/instance

WORKDIR /app

# Dependencies first (a layer that survives code changes), read from pyproject.toml.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# The project, installed in place: templates/ and migrations/ are found next
# to the package (procure.config.PROJECT_ROOT).
COPY . .
RUN pip install --no-deps -e . \
    && if ls platform/procure/translations/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
           pybabel compile -q -d platform/procure/translations; fi \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin procure \
    && mkdir -p /app/instance \
    && chown procure:procure /app/instance

USER procure
EXPOSE 8000
CMD ["gunicorn", "procure:create_app()", "--bind", "0.0.0.0:8000", "--workers", "4", "--worker-class", "sync", "--access-logfile", "-"]
