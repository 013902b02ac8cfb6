"""Getting results to the NGO: ``results`` (the cursor feed), ``webhooks`` (endpoints and the
deliveries list), ``records`` (delivery state in Redis), ``signing`` (Standard Webhooks) and
``ssrf`` (which targets may be called). The attempts and retry schedule are in
``workers/delivery/``."""
