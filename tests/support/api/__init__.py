"""Helpers for the API tests (tests/api/), which talk to the app in-process over HTTP."""
