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
};

const argv = process.argv.slice(2);
const firstOption = argv.findIndex((arg) => arg.startsWith('-'));
const wanted = firstOption < 0 ? argv : argv.slice(0, firstOption);
const options = firstOption < 0 ? [] : argv.slice(firstOption);
for (const name of wanted) {
  if (!(name in benches)) {
    console.error(`unknown benchmark '${name}' (known: ${Object.keys(benches).join(', ')})`);
    process.exit(2);
  }
}
for (const [name, load] of Object.entries(benches)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const started = Date.now();
  const bench = await load();
  await bench.default(options);
  console.log(`(${name} took ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
