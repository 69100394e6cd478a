"""The HTTP boundary: thin aiohttp handlers; the error middleware owns every status code."""
