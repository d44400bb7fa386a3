/**
 * The comparison's output: the rows (consumers, producers, memory, latency) with medians, ranges
 * and same-run ratios, the targets of the benchmark issue, a table for people and the same as
 * JSON for scripts (`--json FILE`).
 */
import { type ConsumerKind, PEERS } from './consumers.js';
import type { LatencyFigures } from './latency.js';
import type { CommandFigures, RunFigures, Scenario } from './measured-run.js';
import type { ProducerFigures } from './producer-bench.js';
import { ratioSpread, type Spread, spread } from './summary.js';
import type { SystemName } from './systems.js';

/** What one round measured. */
export interface Round {
  /** Keyed `<consumer id>:<scenario>`. */
  runs: Map<string, RunFigures>;
  producer: Map<SystemName, ProducerFigures>;
  latency: Map<string, LatencyFigures>;
}

/** What was measured once (not noisy enough to need rounds). */
export interface Once {
  commands: Map<string, CommandFigures>;
  bytesPerTask: Map<SystemName, number>;
}

/** How the comparison was run. */
export interface Setup {
  /** The consumers compared (CONSUMERS, plus the baseline tree's Forklift when given). */
  consumers: ConsumerKind[];
  /** The baseline tree, when one was given. */
  baseline: string | null;
  date: string;
  machine: { cpus: number; node: string; redis: string };
  rounds: number;
  tasks: number;
  quick: boolean;
  /** Only the consumers asked for, and only their throughput and cost rows (`--consumers`). */
  throughputOnly: boolean;
}

/** One row of the report. */
export interface Row {
  kind: 'consumer' | 'producer' | 'memory' | 'latency';
  id: string;
  name: string;
  scenario?: Scenario;
  tasksPerSecond?: number;
  tasksPerSecondRange?: [number, number];
  /** Median over rounds of this row's figure divided by the peer's, same round. */
  ratios: Record<string, number>;
  ratioRanges: Record<string, [number, number]>;
  [figure: string]: unknown;
}

/** A target of the benchmark issue and where it stands. */
export interface Target {
  target: string;
  value: string;
  met: boolean;
}

/** The whole report. */
export interface Report {
  setup: Setup;
  rows: Row[];
  targets: Target[];
}

const SCENARIOS: readonly Scenario[] = ['prefilled', 'live'];

function rangeOf(s: Spread): [number, number] {
  return [s.min, s.max];
}

/** Builds the report from the rounds. */
export function buildReport(setup: Setup, rounds: readonly Round[], once: Once): Report {
  const rows: Row[] = [];
  const series = (pick: (round: Round) => number | undefined) =>
    rounds.map((round) => pick(round) ?? Number.NaN);
  for (const scenario of SCENARIOS) {
    for (const kind of setup.consumers) {
      const key = `${kind.id}:${scenario}`;
      const figure = (f: keyof RunFigures) => spread(series((r) => r.runs.get(key)?.[f]));
      const tps = series((r) => r.runs.get(key)?.tasksPerSecond);
      const row: Row = {
        kind: 'consumer',
        id: kind.id,
        name: kind.name,
        scenario,
        tasksPerSecond: spread(tps).median,
        tasksPerSecondRange: rangeOf(spread(tps)),
        ratios: {},
        ratioRanges: {},
        secondsToDone: figure('secondsToDone').median,
        treeCpuMicrosPerTask: figure('treeCpuMicros').median,
        redisCpuMicrosPerTask: figure('redisCpuMicros').median,
        peakRssMiB: figure('peakRssMiB').median,
        commandsPerTask: once.commands.get(kind.id)?.sentPerTask,
        scriptCallsPerTask: once.commands.get(kind.id)?.inScriptsPerTask,
      };
      const peers: string[] = [...PEERS];
      const baselineId = `${kind.id}@baseline`;
      if (setup.consumers.some((c) => c.id === baselineId)) peers.push(baselineId);
      for (const peer of peers) {
        const r = ratioSpread(
          tps,
          series((round) => round.runs.get(`${peer}:${scenario}`)?.tasksPerSecond),
        );
        const key = peer === baselineId ? 'baseline' : peer;
        row.ratios[key] = r.median;
        row.ratioRanges[key] = rangeOf(r);
      }
      rows.push(row);
    }
  }
  if (setup.throughputOnly) return { setup, rows, targets: [] };
  for (const mode of ['single', 'batch'] as const) {
    const field = mode === 'single' ? 'singlePerSecond' : 'batchPerSecond';
    const bull = series((r) => r.producer.get('bullmq')?.[field]);
    for (const system of ['forklift', 'bullmq'] as const) {
      const tps = series((r) => r.producer.get(system)?.[field]);
      const ratio = ratioSpread(tps, bull);
      rows.push({
        kind: 'producer',
        id: `${system}-${mode}`,
        name:
          system === 'forklift'
            ? `Forklift ${mode === 'single' ? 'enqueue (one task a call)' : 'enqueueMany (1,000 a call)'}`
            : `BullMQ ${mode === 'single' ? 'add (one task a call)' : 'addBulk (1,000 a call)'}`,
        tasksPerSecond: spread(tps).median,
        tasksPerSecondRange: rangeOf(spread(tps)),
        ratios: { bullmq: ratio.median },
        ratioRanges: { bullmq: rangeOf(ratio) },
      });
    }
  }
  const bullBytes = once.bytesPerTask.get('bullmq') ?? Number.NaN;
  for (const system of ['forklift', 'bullmq'] as const) {
    const bytes = once.bytesPerTask.get(system) ?? Number.NaN;
    rows.push({
      kind: 'memory',
      id: `${system}-bytes-per-task`,
      name: `${system === 'forklift' ? 'Forklift' : 'BullMQ'} Redis bytes per queued task`,
      bytesPerTask: bytes,
      ratios: { bullmq: bytes / bullBytes },
      ratioRanges: {},
    });
  }
  for (const id of ['forklift-strict', 'bullmq-sandboxed']) {
    const p50 = spread(series((r) => r.latency.get(id)?.p50Ms));
    const p99 = spread(series((r) => r.latency.get(id)?.p99Ms));
    rows.push({
      kind: 'latency',
      id: `${id}-latency`,
      name: `${setup.consumers.find((c) => c.id === id)?.name}: idle enqueue-to-start`,
      p50Ms: p50.median,
      p50MsRange: rangeOf(p50),
      p99Ms: p99.median,
      p99MsRange: rangeOf(p99),
      ratios: {},
      ratioRanges: {},
    });
  }
  return { setup, rows, targets: targets(rows) };
}

function targets(rows: readonly Row[]): Target[] {
  const find = (id: string, scenario?: Scenario) =>
    rows.find((r) => r.id === id && r.scenario === scenario);
  const out: Target[] = [];
  const ratioTarget = (id: string, peer: string, min: number, label: string) => {
    for (const scenario of SCENARIOS) {
      const ratio = find(id, scenario)?.ratios[peer] ?? Number.NaN;
      out.push({
        target: `${label} (${scenario})`,
        value: `${ratio.toFixed(2)}x`,
        met: ratio >= min,
      });
    }
  };
  ratioTarget('forklift-strict', 'bullmq-sandboxed', 2, 'strict >= 2.0x BullMQ sandboxed c=2');
  ratioTarget('forklift-strict', 'bare-pool', 1, 'strict >= 1.0x bare fork pool');
  ratioTarget(
    'forklift-prefetch16',
    'bullmq-inprocess',
    1.2,
    'prefetch 16 >= 1.2x BullMQ in-process c=50',
  );
  const bytes = find('forklift-bytes-per-task');
  const bytesRatio = bytes?.ratios.bullmq ?? Number.NaN;
  out.push({
    target: 'Redis bytes per queued task below BullMQ',
    value: `${Math.round(Number(bytes?.bytesPerTask))} B (${bytesRatio.toFixed(2)}x)`,
    met: bytesRatio < 1,
  });
  for (const mode of ['single', 'batch']) {
    const ratio = find(`forklift-${mode}`)?.ratios.bullmq ?? Number.NaN;
    out.push({
      target: `enqueue throughput above BullMQ (${mode})`,
      value: `${ratio.toFixed(2)}x`,
      met: ratio > 1,
    });
  }
  const latency = find('forklift-strict-latency');
  const p50 = Number(latency?.p50Ms);
  const p99 = Number(latency?.p99Ms);
  out.push({
    target: 'idle enqueue-to-start p50 <= 1.5 ms',
    value: `${p50.toFixed(2)} ms`,
    met: p50 <= 1.5,
  });
  out.push({
    target: 'idle enqueue-to-start p99 <= 5 ms',
    value: `${p99.toFixed(2)} ms`,
    met: p99 <= 5,
  });
  return out;
}

const int = (n: unknown) =>
  Number.isFinite(n) ? Math.round(n as number).toLocaleString('en-US') : '?';
const fixed = (n: unknown, digits: number) =>
  Number.isFinite(n) ? (n as number).toFixed(digits) : '?';
const ratioText = (row: Row, peer: string) => {
  const range = row.ratioRanges[peer];
  const median = fixed(row.ratios[peer], 2);
  return range && range[0] !== range[1]
    ? `${median} (${fixed(range[0], 2)}-${fixed(range[1], 2)})`
    : median;
};

/** The report as a table for people. */
export function formatReport(report: Report): string {
  const { setup } = report;
  const lines: string[] = [];
  if (setup.baseline !== null) lines.push(`baseline: Forklift from ${setup.baseline}`);
  lines.push(
    `compare: ${setup.date}, ${setup.machine.cpus} CPUs, Node ${setup.machine.node}, Redis ${setup.machine.redis} (private, no persistence); ` +
      `${setup.tasks.toLocaleString('en-US')} square tasks per run, ${setup.rounds} round(s)${setup.quick ? ', --quick' : ''}`,
  );
  lines.push(
    'medians over rounds (range); ratios are taken round by round against peers run in the same round',
  );
  const consumers = report.rows.filter((r) => r.kind === 'consumer');
  const withBaseline = setup.baseline !== null;
  for (const scenario of SCENARIOS) {
    lines.push('');
    lines.push(
      `${scenario === 'prefilled' ? 'consumers, tasks enqueued before launch' : 'consumers, tasks enqueued while running'}`.padEnd(
        47,
      ) +
        'tasks/s (range)          x BullMQ sandboxed  x BullMQ in-process  x bare pool        ' +
        `${scenario === 'prefilled' ? 'launch->done s ' : 'enqueue->done s'}${withBaseline ? '  x baseline' : ''}`,
    );
    for (const row of consumers.filter((r) => r.scenario === scenario)) {
      const range = row.tasksPerSecondRange ?? [Number.NaN, Number.NaN];
      const baseline = row.ratios.baseline === undefined ? '' : ratioText(row, 'baseline');
      lines.push(
        `  ${row.name.padEnd(44)} ${`${int(row.tasksPerSecond)} (${int(range[0])}-${int(range[1])})`.padEnd(24)} ` +
          `${ratioText(row, 'bullmq-sandboxed').padEnd(19)} ${ratioText(row, 'bullmq-inprocess').padEnd(20)} ` +
          `${ratioText(row, 'bare-pool').padEnd(18)} ${fixed(row.secondsToDone, 2).padEnd(15)}  ${baseline}`.trimEnd(),
      );
    }
  }
  lines.push('');
  lines.push(
    'cost per task (prefilled runs, from the first task started)  tree CPU us  Redis CPU us  commands sent  calls in scripts  peak RSS MiB',
  );
  for (const row of consumers.filter((r) => r.scenario === 'prefilled')) {
    lines.push(
      `  ${row.name.padEnd(58)} ${fixed(row.treeCpuMicrosPerTask, 0).padStart(11)}  ${fixed(row.redisCpuMicrosPerTask, 0).padStart(12)}  ` +
        `${fixed(row.commandsPerTask, 2).padStart(13)}  ${fixed(row.scriptCallsPerTask, 2).padStart(16)}  ${fixed(row.peakRssMiB, 0).padStart(12)}`,
    );
  }
  lines.push(
    '  (commands counted with MONITOR in a separate run from launch, start-up included; the tree is the consumer process and its children)',
  );
  if (setup.throughputOnly) return lines.join('\n');
  lines.push('');
  lines.push(
    'producers (one process, calls one after the other)   tasks/s (range)        x BullMQ',
  );
  for (const row of report.rows.filter((r) => r.kind === 'producer')) {
    const range = row.tasksPerSecondRange ?? [Number.NaN, Number.NaN];
    lines.push(
      `  ${row.name.padEnd(50)} ${`${int(row.tasksPerSecond)} (${int(range[0])}-${int(range[1])})`.padEnd(22)} ${ratioText(row, 'bullmq')}`,
    );
  }
  for (const row of report.rows.filter((r) => r.kind === 'memory')) {
    lines.push(
      `  ${row.name.padEnd(50)} ${`${int(row.bytesPerTask)} B`.padEnd(22)} ${fixed(row.ratios.bullmq, 2)}`,
    );
  }
  lines.push('');
  lines.push(
    'latency, idle pool of 2                               p50 ms (range)         p99 ms (range)',
  );
  for (const row of report.rows.filter((r) => r.kind === 'latency')) {
    const p50 = row.p50MsRange as [number, number];
    const p99 = row.p99MsRange as [number, number];
    lines.push(
      `  ${row.name.padEnd(50)} ${`${fixed(row.p50Ms, 2)} (${fixed(p50[0], 2)}-${fixed(p50[1], 2)})`.padEnd(22)} ${fixed(row.p99Ms, 2)} (${fixed(p99[0], 2)}-${fixed(p99[1], 2)})`,
    );
  }
  lines.push('');
  lines.push('targets (benchmark issue; not timed tests)');
  for (const t of report.targets) {
    lines.push(`  ${t.met ? 'met    ' : 'MISSED '} ${t.target.padEnd(58)} ${t.value}`);
  }
  return lines.join('\n');
}
