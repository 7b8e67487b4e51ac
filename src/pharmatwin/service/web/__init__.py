"""The operator dashboard: static pages and scripts over the REST API under ``/api``.

``pharmatwin.service.web.pages.router`` serves the pages (``/login``, ``/``,
``/assets/{asset}``, ``/batches``, ``/audit``), their scripts and styles (``/static/...``) and
plotly.js from the installed ``plotly`` package (``/static/vendor/plotly.min.js``).
"""
