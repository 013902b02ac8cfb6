"""Modules that real dramatiq processes load after Ruche's actors
(``dramatiq workers.app:setup tests.support.worker_modules.<name>``); never imported by a test."""
