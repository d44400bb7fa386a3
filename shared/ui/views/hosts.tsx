/** @jsxImportSource hono/jsx */
/** @jsxRuntime automatic */
/**
 * The hosts page: every live worker host with its slots as the semaphore in Redis counts them
 * (free, busy, prefetched), its children, memory and last heartbeat.
 */
import type { HostView, QueueOverview, SlotCounts } from '../../queue-views.js';
import { formatBytes, formatDuration, formatTime } from '../format.js';
import { NoHostWarning } from './overview.js';

/** Free, busy and prefetched slots as one bar. */
function SlotBar(props: { slots: SlotCounts }) {
  const { free, busy, prefetched } = props.slots;
  const total = Math.max(1, free + busy + prefetched);
  const width = (n: number) => (120 * n) / total;
  return (
    <svg viewBox="0 0 120 10" preserveAspectRatio="none" role="img" aria-hidden="true">
      <rect class="slot-busy" x="0" y="0" width={width(busy)} height="10" />
      <rect class="slot-prefetched" x={width(busy)} y="0" width={width(prefetched)} height="10" />
      <rect class="slot-free" x={width(busy + prefetched)} y="0" width={width(free)} height="10" />
    </svg>
  );
}

function HostRow(props: { host: HostView; now: number }) {
  const { host, now } = props;
  const beat = host.lastHeartbeatAt;
  return (
    <tr data-testid="host-row" data-host-id={host.id}>
      <td>
        <span class="id">{host.id}</span>
        <div class="muted">
          {host.hostname ?? '?'}
          {host.pid === null ? '' : ` · pid ${host.pid}`}
        </div>
      </td>
      <td class="slots">
        <SlotBar slots={host.slots} />
        <span class="muted">{`${host.concurrency} slots, prefetch ${host.prefetch}`}</span>
      </td>
      <td class="num" data-testid="host-free" data-label="free">
        {String(host.slots.free)}
      </td>
      <td class="num" data-testid="host-busy" data-label="busy">
        {String(host.slots.busy)}
      </td>
      <td class="num" data-testid="host-prefetched" data-label="prefetched">
        {String(host.slots.prefetched)}
      </td>
      <td class="num" data-label="children">
        {host.children === null ? '—' : String(host.children)}
      </td>
      <td class="num" data-label="memory">
        {formatBytes(host.rssBytes)}
      </td>
      <td data-label="heartbeat">
        {beat === null ? '—' : `${formatDuration(Math.max(0, now - beat))} ago`}
        <div class="muted hide-narrow">{`up since ${formatTime(host.startedAt)}`}</div>
      </td>
    </tr>
  );
}

/** The hosts table, or a note that none is alive. */
export function HostsPage(props: { overview: QueueOverview }) {
  const { overview } = props;
  return (
    <div>
      <NoHostWarning overview={overview} />
      {overview.hosts.length === 0 ? (
        <p class="muted" data-testid="no-hosts">
          No worker host is alive.
        </p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th>host</th>
                <th>slots</th>
                <th class="num">free</th>
                <th class="num">busy</th>
                <th class="num">prefetched</th>
                <th class="num">children</th>
                <th class="num">memory</th>
                <th>last heartbeat</th>
              </tr>
            </thead>
            <tbody>
              {overview.hosts.map((host) => (
                <HostRow host={host} now={overview.now} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
