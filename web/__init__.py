"""The pages people use (WEB.md): server-rendered HTML from the API's own process.

- ``app``: installs the pages on the FastAPI app; ``visit``: who is asking, in which language,
  CSRF; ``pages``: rendering, security headers, redirects; ``routing``: the page route class
  and error pages; ``sessions``, ``secret``, ``i18n``, ``static``.
- One subpackage per area (``account``, ``work``, ``review``, ``me``), each with ``routes.py``
  (its ``router``), ``templates/<area>/`` and its part of the translations
  (``web/locale/<lang>/LC_MESSAGES/<area>.po``).
"""
