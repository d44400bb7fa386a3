/**
 * Memoization keyed by object identity, for values made once per object (a script's SHA, the
 * config of a Workers isolate, a client per config). The WeakMap lets a value go with its key.
 */

/** `make`, called at most once per key object. */
export function memoizeByObject<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>();
  return (key) => {
    if (made.has(key)) return made.get(key) as V;
    const value = make(key);
    made.set(key, value);
    return value;
  };
}
