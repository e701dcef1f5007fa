# One image for every Salama process of the scaled stack (compose.yml): the gateway, Rasa,
# the action server and the migrate step run the same code with the same pinned packages.
# Built and run nowhere yet: the machine this was written on has no container engine.
FROM python:3.10-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    LOG_LEVEL=INFO LOG_LEVEL_LIBRARIES=WARNING SALAMA_VAR_DIR=/app/var
WORKDIR /app

# Dependencies first: this layer is reused until requirements.txt changes.
COPY requirements.txt .
RUN pip install pip==24.0 && pip install -r requirements.txt && pip check

COPY . .
# The model is built into the image from the data in it (about 1 min on 2 cores), so an image
# always carries the model of its own training data.
RUN python -m rasa_ext.rasa_server train --data data/nlu data/rules data/stories --config config.yml \
        --domain domain.yml --out models --fixed-model-name salama \
    && rm -rf .rasa

RUN useradd --create-home --uid 10001 salama && mkdir -p var && chown salama var
USER salama
# compose.yml gives each service its command; alone, the image runs the gateway.
EXPOSE 8080
CMD ["python", "-m", "bot.app"]
