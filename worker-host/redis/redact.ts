/**
 * Redis URLs as logs and errors may show them: never with their credentials.
 *
 * ioredis 6 takes credentials from three places in a URL, and all three are masked here:
 *
 * - the password of the user info (`redis://user:PASSWORD@host`, `redis://:PASSWORD@host`);
 * - a user info without a password (`redis://NAME@host`): ioredis sends it as the user name,
 *   but many clients (and people) mean it as the password, so it is masked whole;
 * - query options (`redis://host?password=PASSWORD`, also `sentinelPassword` and any other
 *   option whose name looks secret: pass, pwd, secret, token, auth, credential).
 *
 * A cluster URL (`redis+cluster://user:PASSWORD@h1:7000,h2:7000`, see cluster-url.ts) is masked
 * the same way: its list of seed nodes is kept as written.
 *
 * `redactRedisUrl` rewrites one URL; `redisUrlSecrets` lists the secret strings a URL holds (as
 * written and decoded); `redactText` scrubs free text (an error message, a log line) of the
 * credentials of any Redis URL it quotes and of every occurrence of the given secrets, so that
 * a library message echoing a password on its own is masked too.
 */

/** What replaces a secret. */
export const MASK = '***';

/**
 * Shortest secret `redactText` masks wherever it appears. A shorter one (a test token such as
 * `t`) would turn every occurrence of its letters into `***` and the output into noise; it is
 * still masked inside Redis URLs, which are masked by their structure.
 */
export const MIN_SECRET_LENGTH = 6;

/** Query option names whose values are credentials. */
const SECRET_OPTION = /pass|pwd|secret|token|auth|credential/i;

/** A Redis URL quoted inside free text (up to whitespace, a quote or an angle bracket). */
const URL_IN_TEXT = /\brediss?(?:\+cluster)?:\/\/[^\s"'`<>]+/gi;

/** A list of several seed nodes (group 2) after `scheme://` and any user info (group 1). */
const SEED_LIST = /^([a-z][a-z0-9+.-]*:\/\/(?:[^/?#\s]*@)?)([^/?#\s@]*,[^/?#\s@]*)/i;

/** What stands for a list of seed nodes while a cluster URL is parsed. */
const ONE_SEED = 'seeds.invalid';

/**
 * A cluster URL with several seed nodes, which `URL` cannot parse, with one placeholder host in
 * their place, and the function that puts them back; any other URL as it is.
 */
function oneSeed(redisUrl: string): [string, (text: string) => string] {
  const match = SEED_LIST.exec(redisUrl);
  if (!match) return [redisUrl, (text) => text];
  const [whole, head = '', seeds = ''] = match;
  return [
    `${head}${ONE_SEED}${redisUrl.slice(whole.length)}`,
    (text) => text.replace(ONE_SEED, seeds),
  ];
}

/** Punctuation that ends a sentence or a bracket rather than a URL quoted in it. */
const TRAILING_PUNCTUATION = /[.,;:!?)\]}]+$/;

/** `scheme://` at the start of a URL. */
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** One query option: `?name=` or `&name=` (group 1), its name (2) and its value (3). */
const OPTION = /([?&]([^=&#\s]*)=)([^&#\s]*)/g;

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** `text` with the value of every secret-looking query option replaced by `***`. */
function maskSecretOptions(text: string): string {
  return text.replace(OPTION, (m, head: string, name: string) =>
    SECRET_OPTION.test(decode(name)) ? `${head}${MASK}` : m,
  );
}

/** Whether `text` has a query option whose name looks secret. */
function hasSecretOption(text: string): boolean {
  for (const [, , name = ''] of text.matchAll(OPTION)) {
    if (SECRET_OPTION.test(decode(name))) return true;
  }
  return false;
}

/**
 * The user info of a URL that does not parse (a password with an unescaped `/`, a missing
 * scheme): everything after any `scheme://` up to the last `@` before any whitespace, and
 * where it starts; undefined without an `@`.
 */
function rawUserInfo(redisUrl: string): { start: number; userInfo: string } | undefined {
  const start = SCHEME.exec(redisUrl)?.[0].length ?? 0;
  const rest = redisUrl.slice(start).split(/\s/, 1)[0] ?? '';
  const at = rest.lastIndexOf('@');
  return at >= 0 ? { start, userInfo: rest.slice(0, at) } : undefined;
}

/** `redisUrl` parsed, when it has a `scheme://` and parses; otherwise undefined. */
function parse(redisUrl: string): URL | undefined {
  if (!SCHEME.test(redisUrl)) return undefined;
  try {
    return new URL(redisUrl);
  } catch {
    return undefined;
  }
}

/**
 * The Redis URL with its credentials replaced by `***`: the password (a user name next to a
 * password stays, a user name alone is masked) and secret query options such as `password=`.
 * A URL that does not parse is masked by pattern: all of it between any `scheme://` and its
 * last `@`.
 */
export function redactRedisUrl(redisUrl: string): string {
  const [single, restore] = oneSeed(redisUrl);
  return restore(redactSingle(single));
}

/** `redactRedisUrl` of a URL with one host. */
function redactSingle(redisUrl: string): string {
  const url = parse(redisUrl);
  if (!url) {
    const raw = rawUserInfo(redisUrl);
    const masked =
      raw === undefined
        ? redisUrl
        : `${redisUrl.slice(0, raw.start)}${MASK}${redisUrl.slice(raw.start + raw.userInfo.length)}`;
    return maskSecretOptions(masked);
  }
  if (url.password) url.password = MASK;
  else if (url.username) url.username = MASK;
  // Rewritten as text rather than through searchParams, which would re-encode the rest.
  if (url.search) url.search = maskSecretOptions(url.search);
  return url.toString();
}

/**
 * The secret strings `redisUrl` carries, each as written in the URL and decoded: the password
 * (or a lone user name) and the values of secret query options. Empty for a URL without any.
 */
export function redisUrlSecrets(input: string): string[] {
  const [redisUrl] = oneSeed(input);
  const found: string[] = [];
  const add = (raw: string) => {
    if (raw) found.push(raw, decode(raw));
  };
  const url = parse(redisUrl);
  if (url) {
    add(url.password || url.username);
  } else {
    const raw = rawUserInfo(redisUrl);
    if (raw !== undefined) {
      add(raw.userInfo);
      const colon = raw.userInfo.indexOf(':');
      if (colon >= 0) add(raw.userInfo.slice(colon + 1));
    }
  }
  for (const [, , name = '', value = ''] of redisUrl.matchAll(OPTION)) {
    if (SECRET_OPTION.test(decode(name))) add(value);
  }
  return [...new Set(found)].filter((s) => s !== '' && s !== MASK);
}

/**
 * `text` with the credentials of every Redis URL it quotes masked, and every occurrence of
 * each of `secrets` of at least `MIN_SECRET_LENGTH` characters (also in its JSON-escaped form,
 * as it appears inside a JSON log line) replaced by `***`.
 */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let out = text.replace(URL_IN_TEXT, (m) => {
    // Punctuation after a URL in prose (`…@host:6379;`) is not part of it.
    const url = m.replace(TRAILING_PUNCTUATION, '');
    const rest = m.slice(url.length);
    return url.includes('@') || hasSecretOption(url) ? `${redactRedisUrl(url)}${rest}` : m;
  });
  const variants = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH || secret === MASK) continue;
    variants.add(secret);
    variants.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first, so a secret that contains another is masked whole.
  for (const variant of [...variants].sort((a, b) => b.length - a.length)) {
    if (out.includes(variant)) out = out.split(variant).join(MASK);
  }
  return out;
}
