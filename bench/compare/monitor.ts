/**
 * Counting what a consumer asks of Redis, with MONITOR: every command a client sends is one line
 * `+<time> [<db> <client address>] "<command>" ...`, and every call a script makes inside Redis
 * is one line `+<time> [<db> lua] ...`. MONITOR slows Redis down, so this runs apart from the
 * timed runs, once per consumer.
 */
import { connect } from 'node:net';

/** Counts of a MONITOR session. */
export interface MonitorCounts {
  /** Commands sent by clients, but those from `excludePort`. */
  sent: number;
  /** Calls made by scripts inside Redis. */
  inScripts: number;
}

/** A running MONITOR session. */
export interface MonitorSession {
  /** Ends the session and returns the counts. */
  stop(): Promise<MonitorCounts>;
}

/**
 * Starts MONITOR on `port`; commands from the client at local port `excludePort` (the driver's
 * own polls) are not counted.
 */
export async function startMonitor(port: number, excludePort: number): Promise<MonitorSession> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const counts: MonitorCounts = { sent: 0, inScripts: 0 };
  const own = `:${excludePort}]`;
  let rest = '';
  let acknowledged = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\r\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (!acknowledged) {
        acknowledged = line === '+OK';
        continue;
      }
      const open = line.indexOf(' [');
      const close = line.indexOf('] ', open);
      if (open < 0 || close < 0) continue;
      const source = line.slice(open, close + 1);
      if (source.endsWith(' lua]')) counts.inScripts++;
      else if (!source.endsWith(own)) counts.sent++;
    }
  });
  socket.write('MONITOR\r\n');
  const started = Date.now();
  while (!acknowledged && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 5));
  if (!acknowledged) throw new Error('MONITOR was not acknowledged');
  return {
    async stop() {
      // Let the last lines arrive.
      await new Promise((r) => setTimeout(r, 50));
      socket.destroy();
      return counts;
    },
  };
}
