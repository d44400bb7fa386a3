/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * The overview: lane sizes and the age of each lane's oldest task, delayed, active and dead
 * counts, running totals, throughput sparklines, and a warning when work waits with no host
 * alive. `OverviewBody` is also served alone as the fragment the live refresh fetches.
 */
import type { QueueOverview } from '../../queue-views.js';
import { formatCount, formatDuration } from '../format.js';
import { Sparkline } from './sparkline.js';

/** True when tasks wait (in a lane or delayed) and no worker host is alive to run them. */
export function workWaitsWithoutHost(overview: QueueOverview): boolean {
  const waiting = overview.lanes.reduce((sum, lane) => sum + lane.size, 0) + overview.delayed;
  return waiting > 0 && overview.hosts.length === 0;
}

/** The no-host warning, when it applies. */
export function NoHostWarning(props: { overview: QueueOverview }) {
  if (!workWaitsWithoutHost(props.overview)) return null;
  return (
    <p class="warning" data-testid="no-host-warning" role="alert">
      Work is waiting and no worker host is alive: nothing will run until one starts (forklift
      worker).
    </p>
  );
}

function Stat(props: { label: string; value: number; testId: string; sub?: string }) {
  return (
    <div class="stat">
      <span class="label">{props.label}</span>
      <span class="value" data-testid={props.testId} title={formatCount(props.value)}>
        {String(props.value)}
      </span>
      {props.sub ? <span class="sub">{props.sub}</span> : null}
    </div>
  );
}

/** Everything inside the refreshing container. */
export function OverviewBody(props: { overview: QueueOverview }) {
  const { overview } = props;
  const { totals } = overview;
  const hosts = overview.hosts;
  const slots = hosts.reduce(
    (sum, h) => ({ free: sum.free + h.slots.free, busy: sum.busy + h.slots.busy }),
    { free: 0, busy: 0 },
  );
  return (
    <div>
      <NoHostWarning overview={overview} />
      <h2>Waiting</h2>
      <div class="grid">
        {overview.lanes.map((lane) => (
          <div class="stat">
            <span class="label">{`${lane.lane} lane`}</span>
            <span class="value" data-testid={`count-${lane.lane}`}>
              {String(lane.size)}
            </span>
            <span class="sub">
              oldest{' '}
              <span
                data-testid={`oldest-${lane.lane}`}
                data-ms={lane.oldestWaitMs === null ? '' : String(lane.oldestWaitMs)}
              >
                {lane.oldestWaitMs === null ? '—' : formatDuration(lane.oldestWaitMs)}
              </span>
            </span>
          </div>
        ))}
        <Stat label="delayed" value={overview.delayed} testId="count-delayed" />
        <Stat
          label="active"
          value={overview.active}
          testId="count-active"
          sub={`${hosts.length} host${hosts.length === 1 ? '' : 's'}, ${slots.busy} busy / ${slots.free} free slots`}
        />
        <Stat label="dead letters" value={overview.deadKept} testId="count-dead" />
      </div>
      <h2>Totals</h2>
      <div class="grid">
        <Stat label="enqueued" value={totals.enqueued} testId="total-enqueued" />
        <Stat label="succeeded" value={totals.succeeded} testId="total-succeeded" />
        <Stat label="failed attempts" value={totals.failed} testId="total-failed" />
        <Stat label="dead" value={totals.dead} testId="total-dead" />
        <Stat label="canceled" value={totals.canceled} testId="total-canceled" />
      </div>
      <h2>Throughput</h2>
      <div class="charts">
        <Sparkline
          history={overview.history}
          counter="succeeded"
          label="succeeded / min"
          testId="sparkline"
        />
        <Sparkline
          history={overview.history}
          counter="enqueued"
          label="enqueued / min"
          testId="sparkline-enqueued"
        />
        <Sparkline
          history={overview.history}
          counter="failed"
          label="failed attempts / min"
          testId="sparkline-failed"
        />
      </div>
    </div>
  );
}

/** The overview page's content: the body inside a container that refreshes itself. */
export function OverviewPage(props: { overview: QueueOverview; fragmentUrl: string }) {
  return (
    <div id="overview" data-refresh={props.fragmentUrl} aria-live="polite">
      <OverviewBody overview={props.overview} />
    </div>
  );
}
