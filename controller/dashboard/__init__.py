"""The dashboard page's static files (served by controller/http.py)."""
