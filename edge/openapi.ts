/**
 * Routes described once, served and documented from the same description.
 *
 * `ApiRoutes.add(operation, handler)` mounts the handler on a Hono app and keeps the operation;
 * `openApiDocument` turns the operations and the named schemas of `schemas.ts` into an OpenAPI
 * 3.1 document with zod's own JSON Schema generator (`z.toJSONSchema`). This replaces
 * `@hono/zod-openapi`, whose `extendZodWithOpenApi(z)` pulls every zod module — all of its
 * locales included — into the Worker bundle, more than doubling its size.
 */
import type { Handler, Hono } from 'hono';
import * as z from 'zod';
import type { AppEnv } from './context.js';
import { components } from './schemas.js';

/** One response of an operation. */
export interface ApiResponse {
  description: string;
  /** A schema registered in `components` (referenced) or any other (inlined). */
  schema?: z.ZodType;
}

/** One operation: what `/openapi.json` says about a route. */
export interface ApiOperation {
  method: 'get' | 'post' | 'delete';
  /** OpenAPI path, relative to the router's prefix, with `{param}` placeholders. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** True when the route needs `Authorization: Bearer <token>`. */
  secured: boolean;
  /** Path parameters, an object schema (each property is one parameter). */
  params?: z.ZodObject;
  /** Query parameters, an object schema (each property is one parameter; optional ones are). */
  query?: z.ZodObject;
  /** The JSON body. */
  body?: z.ZodType;
  responses: Record<number, ApiResponse>;
}

/** A Hono app plus the operations mounted on it. */
export class ApiRoutes {
  readonly operations: ApiOperation[] = [];

  constructor(readonly app: Hono<AppEnv>) {}

  /**
   * Mounts `handler` at the operation's method and path.
   *
   * @example
   * routes.add({ method: 'get', path: '/stats', ... }, async (c) => c.json(await c.var.queue.stats()));
   */
  add(operation: ApiOperation, handler: Handler<AppEnv>): this {
    this.operations.push(operation);
    const path = operation.path.replace(/\{(\w+)\}/g, ':$1');
    this.app.on(operation.method.toUpperCase(), path, handler);
    return this;
  }
}

const REF_PREFIX = '#/components/schemas/';

/** Generator options: our metadata, and no ±2^53 bounds on every `z.int()`. */
const JSON_SCHEMA_OPTIONS = {
  metadata: components,
  unrepresentable: 'any',
  override: ({ jsonSchema }) => {
    if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
    if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
  },
} satisfies z.core.ToJSONSchemaParams;

/** A JSON Schema without the keys that only make sense in a standalone document. */
function bare(schema: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

function schemaRef(schema: z.ZodType): Record<string, unknown> {
  const id = components.get(schema)?.id;
  if (id) return { $ref: `${REF_PREFIX}${id}` };
  return bare(z.toJSONSchema(schema, JSON_SCHEMA_OPTIONS) as Record<string, unknown>);
}

function operationObject(op: ApiOperation): Record<string, unknown> {
  const parameters = [
    ...Object.entries(op.params?.shape ?? {}).map(([name, schema]) => ({
      name,
      in: 'path',
      required: true,
      schema: schemaRef(schema as z.ZodType),
    })),
    ...Object.entries(op.query?.shape ?? {}).map(([name, schema]) => {
      const type = schema as z.ZodType;
      const description = components.get(type)?.description;
      return {
        name,
        in: 'query',
        required: !type.safeParse(undefined).success,
        ...(description ? { description } : {}),
        schema: schemaRef(type),
      };
    }),
  ];
  const responses = Object.fromEntries(
    Object.entries(op.responses).map(([status, response]) => [
      status,
      {
        description: response.description,
        ...(response.schema
          ? { content: { 'application/json': { schema: schemaRef(response.schema) } } }
          : {}),
      },
    ]),
  );
  return {
    operationId: op.operationId,
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    tags: op.tags,
    ...(op.secured ? { security: [{ bearerAuth: [] }] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: schemaRef(op.body) } },
          },
        }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of `operations` (paths joined to `prefix` per group). */
export function openApiDocument(
  info: { title: string; version: string; description: string },
  groups: readonly { prefix: string; operations: readonly ApiOperation[] }[],
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { prefix, operations } of groups) {
    for (const op of operations) {
      const path = `${prefix}${op.path}`;
      paths[path] = { ...paths[path], [op.method]: operationObject(op) };
    }
  }
  const generated = z.toJSONSchema(components, {
    ...JSON_SCHEMA_OPTIONS,
    uri: (id) => `${REF_PREFIX}${id}`,
  }).schemas;
  const schemas = Object.fromEntries(
    Object.entries(generated).map(([id, schema]) => [id, bare(schema)]),
  );
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'One of the tokens in the FORKLIFT_API_TOKENS secret, or, for GET routes only, of ' +
            'FORKLIFT_API_READONLY_TOKENS (any other method answers 403 forbidden).',
        },
      },
    },
  };
}
