/**
 * The edge's pure pieces, run in Node: config parsing, bearer parsing and comparison, error
 * classification and mapping. Everything that talks HTTP is tested in workerd (the other files).
 */
import { HTTPException } from 'hono/http-exception';
import { describe, expect, test } from 'vitest';
import { bearerToken, tokenMatches, tokenRole } from '../../edge/auth.js';
import { CONFIG_DEFAULTS, readConfig } from '../../edge/config.js';
import { isPayloadSizeIssue, toApiError, validationError } from '../../edge/errors.js';
import { classifyStoreError } from '../../edge/upstash-transport.js';
import {
  CorruptRecordError,
  prepareEnqueue,
  ScriptReplyError,
  StoreUnavailableError,
} from '../../shared/index.js';
import { tasks } from '../../shared/tasks/index.js';

const minimal = {
  FORKLIFT_API_TOKENS: 'a-token',
  UPSTASH_REDIS_REST_URL: 'https://eu1-example.upstash.io',
  UPSTASH_REDIS_REST_TOKEN: 'rest-token',
};

describe('readConfig', () => {
  test('fills in the defaults', () => {
    expect(readConfig(minimal)).toEqual({
      ok: true,
      config: {
        apiTokens: ['a-token'],
        readOnlyApiTokens: [],
        store: { url: 'https://eu1-example.upstash.io', token: 'rest-token' },
        ...CONFIG_DEFAULTS,
      },
    });
    expect(CONFIG_DEFAULTS).toMatchObject({
      queue: 'default',
      namespace: 'forklift',
      maxTaskBytes: 256 * 1024,
      maxRequestBytes: 1024 * 1024,
    });
  });

  test('reads numbers given as TOML numbers or strings, and trims token lists', () => {
    const result = readConfig({
      ...minimal,
      FORKLIFT_API_TOKENS: ' one , two ,, ',
      FORKLIFT_MAX_TASK_BYTES: 1000,
      FORKLIFT_MAX_REQUEST_BYTES: '2000',
      FORKLIFT_QUEUE: 'emails',
      FORKLIFT_NAMESPACE: '',
    });
    expect(result.ok && result.config).toMatchObject({
      apiTokens: ['one', 'two'],
      maxTaskBytes: 1000,
      maxRequestBytes: 2000,
      queue: 'emails',
      namespace: 'forklift',
    });
  });

  test.each([undefined, '', ' , ', 42])('FORKLIFT_API_TOKENS = %j gives no token', (value) => {
    const result = readConfig({ ...minimal, FORKLIFT_API_TOKENS: value });
    expect(result).toMatchObject({
      ok: false,
      apiTokens: [],
      problems: [expect.stringMatching(/^FORKLIFT_API_TOKENS /)],
    });
  });

  test('a token with whitespace inside is refused (a bearer token cannot hold one)', () => {
    const result = readConfig({ ...minimal, FORKLIFT_API_TOKENS: 'good-token, bad token' });
    expect(result).toMatchObject({
      ok: false,
      apiTokens: [],
      problems: ['FORKLIFT_API_TOKENS has a token with whitespace inside'],
    });
  });

  test('names every bad variable, and keeps valid API tokens for authentication', () => {
    const result = readConfig({ FORKLIFT_API_TOKENS: 'x', FORKLIFT_QUEUE: 'a b' });
    expect(result).toEqual({
      ok: false,
      apiTokens: ['x'],
      readOnlyApiTokens: [],
      problems: [
        expect.stringMatching(/^UPSTASH_REDIS_REST_URL is not set/),
        expect.stringMatching(/^UPSTASH_REDIS_REST_TOKEN is not set/),
        expect.stringMatching(/^FORKLIFT_QUEUE must be/),
      ],
    });
  });
});

describe('read-only API tokens', () => {
  test('FORKLIFT_API_READONLY_TOKENS is optional and trimmed like FORKLIFT_API_TOKENS', () => {
    const result = readConfig({ ...minimal, FORKLIFT_API_READONLY_TOKENS: ' r1 ,, r2 ' });
    expect(result.ok && result.config.readOnlyApiTokens).toEqual(['r1', 'r2']);
    expect(readConfig({ ...minimal, FORKLIFT_API_READONLY_TOKENS: '' })).toMatchObject({
      ok: true,
      config: { readOnlyApiTokens: [] },
    });
  });

  test('a read-only token with whitespace inside, or one that is also a full token, is refused', () => {
    expect(
      readConfig({ ...minimal, FORKLIFT_API_READONLY_TOKENS: 'fine, not fine' }),
    ).toMatchObject({
      ok: false,
      apiTokens: ['a-token'],
      readOnlyApiTokens: [],
      problems: ['FORKLIFT_API_READONLY_TOKENS has a token with whitespace inside'],
    });
    expect(readConfig({ ...minimal, FORKLIFT_API_READONLY_TOKENS: 'r1,a-token' })).toMatchObject({
      ok: false,
      apiTokens: ['a-token'],
      readOnlyApiTokens: ['r1'],
      problems: [
        expect.stringMatching(
          /^FORKLIFT_API_READONLY_TOKENS has a token that FORKLIFT_API_TOKENS lists too/,
        ),
      ],
    });
  });

  test('tokenRole tells full, read-only and unknown tokens apart', async () => {
    const lists = { apiTokens: ['full-1', 'full-2'], readOnlyApiTokens: ['read-1'] };
    expect(await tokenRole('full-2', lists)).toBe('full');
    expect(await tokenRole('read-1', lists)).toBe('readonly');
    expect(await tokenRole('read-', lists)).toBeNull();
    expect(await tokenRole('', { apiTokens: [], readOnlyApiTokens: [] })).toBeNull();
  });
});

describe('bearer tokens', () => {
  test.each([
    ['Bearer abc', 'abc'],
    ['bearer abc', 'abc'],
    ['Bearer   abc  ', 'abc'],
    ['Bearer', null],
    ['Bearer a b', null],
    ['Basic abc', null],
    ['', null],
    [undefined, null],
  ])('bearerToken(%j) = %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  test('tokenMatches accepts each listed token and nothing else', async () => {
    const tokens = ['first-token', 'second-token'];
    expect(await tokenMatches('first-token', tokens)).toBe(true);
    expect(await tokenMatches('second-token', tokens)).toBe(true);
    for (const guess of ['', 'first-toke', 'first-tokenn', 'FIRST-TOKEN', 'second-token ']) {
      expect(await tokenMatches(guess, tokens)).toBe(false);
    }
    expect(await tokenMatches('anything', [])).toBe(false);
  });
});

describe('errors', () => {
  test("prepareEnqueue's payload size issue is recognized (413, not 400)", () => {
    const result = prepareEnqueue(
      tasks,
      { type: 'square', payload: { x: 123 } },
      {
        maxPayloadBytes: 4,
      },
    );
    expect(result.ok).toBe(false);
    const issues = result.ok ? [] : result.issues;
    expect(issues.map(isPayloadSizeIssue)).toEqual([true]);
    expect(validationError(issues)).toMatchObject({ status: 413, code: 'payload_too_large' });
    expect(isPayloadSizeIssue({ path: 'payload.x', message: 'Invalid input' })).toBe(false);
  });

  test('validationError summarizes the first issue and counts the rest', () => {
    const error = validationError([
      { path: 'tasks.0.type', message: 'Required' },
      { path: 'tasks.2.payload.x', message: 'Too big' },
    ]);
    expect(error).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(error.message).toBe('tasks.0.type: Required (and 1 more)');
    expect(error.details).toEqual({ issues: expect.any(Array) });
  });

  test('toApiError maps engine errors to status and code', () => {
    expect(toApiError(new StoreUnavailableError('down'))).toMatchObject({
      status: 503,
      code: 'store_unavailable',
      headers: { 'Retry-After': '1' },
    });
    expect(toApiError(new CorruptRecordError('t1', 'bad'))).toMatchObject({
      status: 500,
      code: 'corrupt_record',
      details: { id: 't1' },
    });
    expect(toApiError(new ScriptReplyError('enqueue', 'odd'))).toMatchObject({
      status: 500,
      code: 'internal',
      message: 'Internal error',
    });
    expect(toApiError(new HTTPException(415, { message: 'Unsupported' }))).toMatchObject({
      status: 415,
      code: 'invalid_request',
    });
  });
});

describe('classifyStoreError', () => {
  test.each([
    'NOSCRIPT No matching script. Please use EVAL., command was: ["evalsha"]',
    'ERR forklift: task id x already exists, command was: ["evalsha"]',
    'WRONGTYPE Operation against a key holding the wrong kind of value',
    'ERR user_script:12: Script attempted to access nonexistent global variable',
  ])('passes engine errors through: %s', (message) => {
    const error = new Error(message);
    expect(classifyStoreError(error)).toBe(error);
  });

  test.each([
    [new TypeError('fetch failed')],
    [new Error('Unauthorized, command was: ["evalsha","abc",9,"secret payload"]')],
    [new Error('Redis is unavailable: connect ECONNREFUSED, command was: ["evalsha"]')],
    [new Error('LOADING Redis is loading the dataset in memory')],
    [new DOMException('The operation timed out.', 'TimeoutError')],
  ])('turns transport and server failures into StoreUnavailableError: %s', (error) => {
    const classified = classifyStoreError(error);
    expect(classified).toBeInstanceOf(StoreUnavailableError);
    expect((classified as Error).message).not.toContain('command was');
    expect((classified as Error).cause).toBe(error);
  });
});
