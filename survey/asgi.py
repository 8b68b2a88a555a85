"""ASGI entry point for uvicorn: ``uvicorn survey.asgi:app``."""

import gc

from survey.app import create_app

app = create_app()
# everything imported and built so far lives as long as the server process: keep it out of the cyclic
# garbage collector's full passes, which otherwise walk it all again under load (not in create_app:
# tests build many apps in one process, and frozen garbage would never be freed)
gc.freeze()
