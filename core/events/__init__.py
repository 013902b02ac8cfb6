"""Events: the outbox relay (``relay``) hands every project stream event on at least once."""
