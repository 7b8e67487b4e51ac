"""Request (``...In``) and response (``...Out``) models of the API."""
