"""The REST API: one Powertools router per resource, assembled in app.py."""
