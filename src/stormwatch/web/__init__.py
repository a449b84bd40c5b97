"""The analyst console (`stormwatch console`): a FastAPI + Jinja2 web application over the store."""
