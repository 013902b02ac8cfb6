"""Redis itself: the key layout (``keys``), the Lua script registry (``scripts``, with the
shared ``_prelude.lua``), the API's multiplexed connection (``mux``) and the embedded server
(``server``)."""
