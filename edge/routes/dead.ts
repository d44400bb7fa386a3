/**
 * `/v1/dead`: dead letters, a page at a time (newest first, by type and death time), and the
 * actions on them: retry or delete by id (at most 500 per call), or all matching a filter, a
 * chunk per call (at most 200 tasks, 1,000 entries examined) so Redis never blocks; the caller
 * loops with the returned cursor until `done`.
 */
import { Hono } from 'hono';
import type { DeadFilter } from '../../shared/index.js';
import type { AppEnv } from '../context.js';
import { ApiRoutes } from '../openapi.js';
import {
  bulkProgressSchema,
  deadIdsBodySchema,
  deadMatchingBodySchema,
  deadQuerySchema,
  deleteDeadResultSchema,
  listPageSchema,
  retryDeadResultSchema,
} from '../operator-schemas.js';
import { errorResponses } from '../schemas.js';
import { countOf, msOf, parseBody, parseQuery } from './parse.js';

/** A filter as the schemas accepted it, with times as ms. */
function deadFilter(f: {
  type?: string | undefined;
  from?: string | number | undefined;
  to?: string | number | undefined;
}): DeadFilter {
  const from = msOf(f.from);
  const to = msOf(f.to);
  return {
    ...(f.type === undefined ? {} : { type: f.type }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  };
}

const MATCHING_DESCRIPTION =
  'Handles the next chunk (at most 200 tasks; at most 1,000 dead letters examined) of the dead ' +
  'letters matching `filter`, oldest first. Start with `cursor: null`, then send the returned ' +
  'cursor until `done`. The first call pins the end of the range to its own time, so tasks ' +
  'that die meanwhile are not taken up. Safe to re-send.';

/** The `/dead` routes, to mount under `/v1`. */
export function deadRoutes(): ApiRoutes {
  const routes = new ApiRoutes(new Hono<AppEnv>());

  routes.add(
    {
      method: 'get',
      path: '/dead',
      operationId: 'listDeadLetters',
      tags: ['operator'],
      summary: 'A page of dead letters, newest first',
      description:
        '`total` counts the dead letters in the time range (any type). With `type`, `offset` ' +
        'counts matching tasks. Times are ms since the epoch or ISO 8601.',
      secured: true,
      query: deadQuerySchema,
      responses: {
        200: { description: 'A page of dead letters', schema: listPageSchema },
        ...errorResponses(400, 401, 503),
      },
    },
    async (c) => {
      const q = parseQuery(deadQuerySchema, c);
      const page = await c.var.queue.deadPage(
        deadFilter(q),
        countOf(q.offset, 0),
        countOf(q.count, 50),
      );
      return c.json(page, 200);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/dead/retry',
      operationId: 'retryDeadLetters',
      tags: ['operator'],
      summary: 'Retry dead letters by id',
      description:
        'Each dead task goes back to the tail of its lane with its attempts reset. Ids that are ' +
        'not dead are listed in `notDead`.',
      secured: true,
      body: deadIdsBodySchema,
      responses: {
        200: { description: 'Retried', schema: retryDeadResultSchema },
        ...errorResponses(400, 401, 403, 413, 503),
      },
    },
    async (c) => {
      const { ids } = await parseBody(deadIdsBodySchema, c);
      return c.json(await c.var.queue.retryDead(ids), 200);
    },
  );

  routes.add(
    {
      method: 'post',
      path: '/dead/delete',
      operationId: 'deleteDeadLetters',
      tags: ['operator'],
      summary: 'Delete dead letters by id',
      description:
        'Deletes each dead task’s record and index entries. Ids that are not dead are listed ' +
        'in `notDead` (so a re-sent delete lists the ids it deleted before).',
      secured: true,
      body: deadIdsBodySchema,
      responses: {
        200: { description: 'Deleted', schema: deleteDeadResultSchema },
        ...errorResponses(400, 401, 403, 413, 503),
      },
    },
    async (c) => {
      const { ids } = await parseBody(deadIdsBodySchema, c);
      return c.json(await c.var.queue.deleteDead(ids), 200);
    },
  );

  for (const action of ['retry', 'delete'] as const) {
    routes.add(
      {
        method: 'post',
        path: `/dead/${action}-matching`,
        operationId: `${action}DeadLettersMatching`,
        tags: ['operator'],
        summary: `${action === 'retry' ? 'Retry' : 'Delete'} every dead letter matching a filter, a chunk per call`,
        description: MATCHING_DESCRIPTION,
        secured: true,
        body: deadMatchingBodySchema,
        responses: {
          200: { description: 'Progress', schema: bulkProgressSchema },
          ...errorResponses(400, 401, 403, 413, 503),
        },
      },
      async (c) => {
        const { filter, cursor } = await parseBody(deadMatchingBodySchema, c);
        const progress =
          action === 'retry'
            ? await c.var.queue.retryDeadMatching(deadFilter(filter), cursor)
            : await c.var.queue.deleteDeadMatching(deadFilter(filter), cursor);
        return c.json(progress, 200);
      },
    );
  }

  return routes;
}
