"""The humanparse service: a REST API (FastAPI) and a Web UI in one process.

``create_app(...)`` builds the ASGI app; ``humanparse serve`` runs it with uvicorn. See ``docs/service.md``.
Needs the ``serve`` extra (fastapi, uvicorn, python-multipart, prometheus-client).
"""

from .app import ServiceConfig, create_app

__all__ = ["create_app", "ServiceConfig"]
