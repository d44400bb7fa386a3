/**
 * `npm run bench`: every benchmark, one after the other, each printing its own figures.
 * Run one with `npm run bench -- engine` (or gateway, edge).
 */
const benches: Record<string, () => Promise<{ default: () => Promise<void> }>> = {
  engine: () => import('./engine.js'),
  gateway: () => import('./gateway.js'),
  edge: () => import('./edge.js'),
};

const wanted = process.argv.slice(2);
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
  await bench.default();
  console.log(`(${name} took ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
}
