"""What the cache raises when its server is away: Redis's own errors, and socket and file
errors (the file-based cache of the embedded default). Whatever only speeds things up or
counts (last use, rate limits, sign-in waits) catches these and goes on without it."""

from redis.exceptions import RedisError

CACHE_ERRORS = (RedisError, OSError)
