"""HTTP routes of this feature (thin: parse, call the service, render)."""

ROUTES: list = []
