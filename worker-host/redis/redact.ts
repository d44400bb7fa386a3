/** Redis URLs as logs and errors may show them: never with their password. */

/** The Redis URL with its password replaced by `***`. */
export function redactRedisUrl(redisUrl: string): string {
  try {
    const url = new URL(redisUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'redis://(unparseable)';
  }
}
