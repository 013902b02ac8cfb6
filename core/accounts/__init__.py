"""Organisations, volunteers and who a bearer token belongs to (``store``); token format and
hashing (``tokens``)."""
