"""Redis itself: the key layout (``keys``), the Lua script registry (``scripts``, with the
shared ``_prelude.lua``), the API's multiplexed connection (``mux``, with the TLS context of a
``rediss://`` URL in ``tls`` and its error replies' classes in ``reply_errors``) and the embedded
server (``server``)."""
