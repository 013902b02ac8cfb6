"""Real local HTTP servers and proxies, each in a thread, for the NGO client's tests."""
