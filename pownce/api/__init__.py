"""The Mastodon client API (a subset), OAuth 2 and what clients need around it.

Read :mod:`pownce.api.mapping` first: how Pownce's notes, audiences, friends and fans are
told in Mastodon's words, and what is not. :mod:`pownce.api.tokens` is the cached bearer-token
lookup; :mod:`pownce.api.http` the endpoint wrapper (authentication, scopes, rate limits,
errors); the views only call ``notes``/``accounts`` services and selectors.
"""
