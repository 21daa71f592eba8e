"""The owner dashboard: a small no-build ES-module app served by the API on its own origin.
It uses the public API (everything it does can be done with curl) and a browser session
whose refresh token is an HttpOnly cookie (see app.users.cookies)."""
