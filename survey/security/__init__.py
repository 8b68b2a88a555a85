"""Cross-cutting protections: server-side staff sessions, session-bound CSRF, security headers, client addresses."""
