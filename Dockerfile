# Safqa image: one image for web (gunicorn), Celery worker and beat.

# Front-end libraries come from npm and are copied into static/vendor.
FROM node:20-slim AS frontend
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/vendor.mjs scripts/vendor.mjs
RUN npm ci --omit=dev --no-audit --no-fund && npm run vendor

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY . .
COPY --from=frontend /app/static/vendor static/vendor
# Build-time only key: collectstatic needs settings, never the runtime secret.
RUN pybabel -q compile -d locale -D django \
 && DEBUG=0 SECRET_KEY=build-only-not-secret python manage.py collectstatic --no-input -v0 \
 && useradd --create-home safqa && mkdir -p var && chown safqa var
USER safqa
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
