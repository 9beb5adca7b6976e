"""Celery workers: the app (app.py), its configuration (config.py), the embedded broker
(broker.py) and thin tasks (tasks.py) that call the library."""
