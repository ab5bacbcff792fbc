"""The domain routes: what people ask of the tracker through the service and the Explorer.

Each module is one noun and exports ``router``; :func:`rmtc.server.app.create_app` includes every module
named in :data:`DOMAIN_ROUTERS` under ``/api/v1/p/{project}``. Routes call the services the CLI calls
and answer the JSON the CLI prints with ``--json``; they add no logic of their own.
"""

from __future__ import annotations

DOMAIN_ROUTERS: tuple[str, ...] = ("entities", "lineage", "rights", "runs", "reports")
