/**
 * Runs the edge Worker inside workerd (Miniflare) for tests and benchmarks: `edge/index.ts` is
 * bundled with esbuild the way wrangler bundles it for Workers (once per process), then started
 * with the given bindings. Nothing is mocked: the Worker's fetches go to whatever
 * `UPSTASH_REDIS_REST_URL` names (the test gateway in front of the real Redis).
 *
 * @example
 * const gw = await startTestGateway();
 * const edge = await startTestEdge({ bindings: edgeBindings(gw, { namespace }) });
 * const res = await edge.fetch('/v1/stats', { headers: { authorization: `Bearer ${TEST_API_TOKEN}` } });
 * await edge.dispose();
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import {
  Miniflare,
  type Request as MiniflareRequest,
  type Response,
  fetch as undiciFetch,
} from 'miniflare';

/** The compatibility date of wrangler.toml, so tests run the Worker as wrangler would. */
export const EDGE_COMPATIBILITY_DATE = (() => {
  const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
  const date = /^compatibility_date\s*=\s*"(\d{4}-\d{2}-\d{2})"/m.exec(toml)?.[1];
  if (!date) throw new Error('wrangler.toml has no compatibility_date');
  return date;
})();

/** An API token the tests configure (the Worker's FORKLIFT_API_TOKENS includes it). */
export const TEST_API_TOKEN = 'test-api-token-0123456789abcdef';

const entry = fileURLToPath(new URL('../../edge/index.ts', import.meta.url));

let bundle: Promise<string> | undefined;

/** The Worker as one ES module, bundled for workerd (cached per process). */
export function bundleEdge(): Promise<string> {
  bundle ??= bundleForWorkerd(entry);
  return bundle;
}

/** esbuild options that bundle a module the way wrangler does for workerd. */
export const WORKERD_BUILD_OPTIONS = {
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  conditions: ['workerd', 'worker', 'browser'],
  mainFields: ['browser', 'module', 'main'],
  logLevel: 'silent',
} as const satisfies BuildOptions;

/** Bundles the module at `entryPath` for workerd; resolves to the script text. */
export async function bundleForWorkerd(entryPath: string): Promise<string> {
  const result = await build({ ...WORKERD_BUILD_OPTIONS, entryPoints: [entryPath], write: false });
  const [file] = result.outputFiles;
  if (!file) throw new Error(`esbuild produced no output for ${entryPath}`);
  return file.text;
}

/** A decoded JSON answer; tests read its fields freely. */
// biome-ignore lint/suspicious/noExplicitAny: test responses are checked field by field
export type JsonBody = any;

/** What `TestEdge.api` returns. */
export interface ApiAnswer {
  status: number;
  headers: Headers;
  body: JsonBody;
}

/** Options of `TestEdge.api`. */
export interface ApiOptions {
  /** Sent as JSON (a string is sent as is). */
  body?: unknown;
  /** Bearer token; `null` sends no Authorization header. @default TEST_API_TOKEN */
  token?: string | null;
  headers?: Record<string, string>;
}

/** A client of one edge Worker. */
export interface EdgeClient {
  /** Sends a request to the Worker; `path` is relative to `http://edge.test`. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Sends a JSON request with the test token and decodes the JSON answer. */
  api(method: string, path: string, options?: ApiOptions): Promise<ApiAnswer>;
  /** Requests the Worker made to the outside (only with `countOutbound`). */
  readonly outbound: readonly { method: string; url: string }[];
}

/** A running edge Worker. */
export interface TestEdge extends EdgeClient {
  /**
   * workerd's own HTTP address for the Worker (Miniflare's entry socket): for load tests with a
   * keep-alive client, much faster than `fetch` (which goes through Miniflare's dispatcher).
   */
  readonly url: URL;
  /** Stops workerd. */
  dispose(): Promise<void>;
}

/** Options of {@link startTestEdge}. */
export interface TestEdgeOptions {
  /** The Worker's vars and secrets (strings). */
  bindings: Record<string, string>;
  /**
   * Route the Worker's outbound fetches through Node to record them in `outbound` (for
   * round-trip assertions; adds latency, so not for benchmarks). @default false
   */
  countOutbound?: boolean;
  /** Print the Worker's console output. @default process.env.FORKLIFT_TEST_LOG_LEVEL set */
  showLogs?: boolean;
}

/** Bindings pointing the Worker at a gateway, with `TEST_API_TOKEN` allowed. */
export function edgeBindings(
  gateway: { url: string; token: string },
  options: { namespace: string; queue?: string; extra?: Record<string, string> },
): Record<string, string> {
  return {
    UPSTASH_REDIS_REST_URL: gateway.url,
    UPSTASH_REDIS_REST_TOKEN: gateway.token,
    FORKLIFT_API_TOKENS: `other-token-abcdefghijklmnop, ${TEST_API_TOKEN}`,
    FORKLIFT_QUEUE: options.queue ?? 'default',
    FORKLIFT_NAMESPACE: options.namespace,
    ...options.extra,
  };
}

type Fetch = (url: URL, init?: RequestInit) => Promise<Response>;

function edgeClient(send: Fetch, outbound: EdgeClient['outbound']): EdgeClient {
  const fetch = (path: string, init?: RequestInit) => send(new URL(path, 'http://edge.test'), init);
  return {
    fetch,
    outbound,
    api: async (method, path, { body, token = TEST_API_TOKEN, headers = {} } = {}) => {
      const init: RequestInit = {
        method,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
      };
      if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
      const res = await fetch(path, init);
      const text = await res.text();
      let parsed: JsonBody;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error(
          `${method} ${path} answered ${res.status} with non-JSON: ${text.slice(0, 200)}`,
        );
      }
      return { status: res.status, headers: res.headers as unknown as Headers, body: parsed };
    },
  };
}

async function workerOptions(
  name: string,
  options: TestEdgeOptions,
  outbound: { method: string; url: string }[],
) {
  return {
    name,
    modules: true,
    script: await bundleEdge(),
    compatibilityDate: EDGE_COMPATIBILITY_DATE,
    bindings: options.bindings,
    ...(options.countOutbound
      ? {
          outboundService: (request: MiniflareRequest) => {
            outbound.push({ method: request.method, url: request.url });
            return undiciFetch(request);
          },
        }
      : {}),
  };
}

function quiet(options: { showLogs?: boolean }) {
  const showLogs = options.showLogs ?? process.env.FORKLIFT_TEST_LOG_LEVEL !== undefined;
  return showLogs ? {} : { handleRuntimeStdio: () => {} };
}

/** Starts the edge Worker in workerd with `bindings`. */
export async function startTestEdge(options: TestEdgeOptions): Promise<TestEdge> {
  const outbound: { method: string; url: string }[] = [];
  const mf = new Miniflare({
    ...(await workerOptions('edge', options, outbound)),
    ...quiet(options),
  });
  const url = await mf.ready;
  const send: Fetch = (target, init) =>
    mf.dispatchFetch(target, init as Parameters<Miniflare['dispatchFetch']>[1]);
  return { ...edgeClient(send, outbound), url, dispose: () => mf.dispose() };
}

/**
 * Starts several edge Workers, each with its own bindings, in one workerd process (much faster
 * than one `startTestEdge` each, for tests of many configurations).
 *
 * @example
 * const { workers, dispose } = await startTestEdges({ open: {}, closed: { FORKLIFT_API_TOKENS: 'x' } });
 * await workers.open.api('GET', '/v1/stats');
 */
export async function startTestEdges<K extends string>(
  configs: Record<K, Record<string, string>>,
  options: { showLogs?: boolean } = {},
): Promise<{ workers: Record<K, EdgeClient>; dispose(): Promise<void> }> {
  const names = Object.keys(configs) as K[];
  const mf = new Miniflare({
    workers: await Promise.all(
      names.map((name) => workerOptions(name, { bindings: configs[name] }, [])),
    ),
    ...quiet(options),
  });
  await mf.ready;
  const workers = {} as Record<K, EdgeClient>;
  for (const name of names) {
    const worker = await mf.getWorker(name);
    const send: Fetch = (target, init) =>
      worker.fetch(
        target,
        init as Parameters<typeof worker.fetch>[1],
      ) as unknown as Promise<Response>;
    workers[name] = edgeClient(send, []);
  }
  return { workers, dispose: () => mf.dispose() };
}
