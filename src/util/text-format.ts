/**
 * How numbers read in what the CLI and the reports print, one function a kind so every
 * place agrees: sizes in KiB, counts with their noun, grouped integers, short decimals.
 */

/** An integer grouped by thousands: 1,054,040. */
export const grouped = (n: number): string => n.toLocaleString('en-US');

/** A size: bytes below 1 KiB, else KiB with one decimal, grouped (1,052.0 KiB). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const kib = bytes / 1024;
  return `${kib.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 })} KiB`;
}

/** `n` and its noun, plural unless n is 1: "1 epoch", "20 epochs", "3 seeds". */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${grouped(n)} ${n === 1 ? noun : plural}`;
}

/** A measured number to four significant digits (0.8652304609218436 -> 0.8652). */
export const rounded = (x: number): number => Number(x.toPrecision(4));
