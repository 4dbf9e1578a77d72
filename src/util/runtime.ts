/** What runtime this is. Browser-safe: reads `process` only where it exists. */

/** Node's version (`process.versions.node`), or undefined outside Node (a browser, a worker). */
export function nodeVersion(): string | undefined {
  const v = (globalThis as { process?: { versions?: { node?: unknown } } }).process?.versions?.node;
  return typeof v === 'string' ? v : undefined;
}

/** True in Node. */
export function isNode(): boolean {
  return nodeVersion() !== undefined;
}
