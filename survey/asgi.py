"""ASGI entry point for uvicorn: ``uvicorn survey.asgi:app``."""

from survey.app import create_app

app = create_app()
