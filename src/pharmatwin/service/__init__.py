"""The web service: a REST API and a live stream over the historian and the twin runtime.

``create_app(settings, context)`` in ``pharmatwin.service.app`` builds the FastAPI app.
"""
