/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * `GET <base>` (overview), `GET <base>/fragments/overview` (what the live refresh fetches) and
 * `GET <base>/hosts`. Each answer costs one `overview()` call: one Redis call.
 */
import type { Env } from 'hono';
import type { Guard } from '../guard.js';
import { HostsPage } from '../views/hosts.js';
import { OverviewBody, OverviewPage } from '../views/overview.js';

/** Registers the overview, its fragment and the hosts page. */
export function overviewRoutes<E extends Env>(guard: Guard<E>): void {
  guard.page('/', async (c, visit) => {
    const overview = await visit.queue.overview();
    return guard.render(
      c,
      visit,
      'overview',
      'Overview',
      <OverviewPage overview={overview} fragmentUrl={`${guard.base}/fragments/overview`} />,
    );
  });

  guard.page(
    '/fragments/overview',
    async (c, visit) => {
      const overview = await visit.queue.overview();
      return c.html(<OverviewBody overview={overview} />);
    },
    { flash: false },
  );

  guard.page('/hosts', async (c, visit) => {
    const overview = await visit.queue.overview();
    return guard.render(c, visit, 'hosts', 'Hosts', <HostsPage overview={overview} />);
  });
}
