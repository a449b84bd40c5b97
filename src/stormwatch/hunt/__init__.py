"""hunt package."""
