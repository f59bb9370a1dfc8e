FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends \
        gettext tesseract-ocr tesseract-ocr-chi-sim fonts-noto-cjk libgl1 libglib2.0-0 curl \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir -e . 
COPY . .
# Static files are collected with the production settings (DEBUG off), so the manifest that
# DEBUG-off pages need is written; the build-time key and host are placeholders only.
RUN python manage.py compilemessages --ignore=.venv -v 0 \
    && DEBUG=0 SECRET_KEY=collectstatic-only ALLOWED_HOSTS=build \
       STATIC_ROOT=/app/staticfiles python manage.py collectstatic --noinput -v 0
ENV STATIC_ROOT=/app/staticfiles
RUN useradd --create-home ssa && mkdir -p /app/var && chown -R ssa /app/var
USER ssa
EXPOSE 8000
CMD ["gunicorn", "ssa_ops.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120"]
