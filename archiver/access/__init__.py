"""Access: who a request comes from, proven by a Microsoft Entra ID bearer token.

Owns the tenant's OpenID discovery document and signing keys, fetched and cached
(discovery, keys), a token's checks (tokens), the gate the read API and the webhook
ask before they answer (gate), and the requests it refuses, counted per caller and
minute and stored in the background as bounded audit records (tally, refusals). Every
PyJWT and aiohttp error is translated here into `archiver.core.errors`:
Unauthenticated, Forbidden, IdentityUnavailable.

May import: archiver.core, PyJWT and aiohttp.
"""
