"""The rmtc service: a REST API (FastAPI) over the Tracker, with token auth, roles and project scopes.

Build the ASGI app with :func:`rmtc.server.app.create_app`; ``rmtc serve`` runs it under uvicorn
(:mod:`rmtc.server.run`). Nothing is imported here: the web framework loads only when the app is built.
"""
