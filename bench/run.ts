/**
 * `npm run bench`: every benchmark, one after the other, each printing its own figures.
 * Run some with `npm run bench -- engine gateway`; options after the names go to each of them
 * (e.g. `npm run bench -- compare --quick --json out.json`).
 */
const benches: Record<
  string,
  () => Promise<{ default: (args: readonly string[]) => Promise<void> }>
> = {
  engine: () => import('./engine.js'),
  gateway: () => import('./gateway.js'),
  edge: () => import('./edge.js'),
  compare: () => import('./compare.js'),
  shards: () => import('./shards.js'),
};

const USAGE = `usage: npm run bench -- [${Object.keys(benches).join(' | ')} ...] [options]
  with no name, every benchmark runs; options go to each named one. compare takes
  --quick, --json FILE, --baseline DIR, --consumers a,b; shards takes --quick, --tasks N,
  --rounds N, --idle-seconds N, --json FILE (see docs/benchmarks.md).`;

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const firstOption = argv.findIndex((arg) => arg.startsWith('-'));
const wanted = firstOption < 0 ? argv : argv.slice(0, firstOption);
const options = firstOption < 0 ? [] : argv.slice(firstOption);
for (const name of wanted) {
  if (!(name in benches)) {
    console.error(`unknown benchmark '${name}'\n${USAGE}`);
    process.exit(2);
  }
}
for (const [name, load] of Object.entries(benches)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const started = Date.now();
  const bench = await load();
  try {
    await bench.default(options);
  } catch (error) {
    // A bad option or value is the caller's mistake: say so, without a stack trace.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      console.error(`bench ${name}: ${(error as Error).message}\n${USAGE}`);
      process.exit(2);
    }
    throw error;
  }
  console.log(`(${name} took ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
