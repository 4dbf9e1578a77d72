/**
 * Compressing the JSON header with the platform's own deflate (CompressionStream, in every
 * current browser and in Node >= 18), zlib format (RFC 1950). Nothing to bundle.
 */

const hasStreams = (): boolean =>
  typeof CompressionStream === 'function' && typeof DecompressionStream === 'function';

async function through(
  stream: CompressionStream | DecompressionStream,
  bytes: Uint8Array,
): Promise<Uint8Array> {
  const source = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
  return new Uint8Array(await new Response(source.pipeThrough(stream)).arrayBuffer());
}

/** Deflates `bytes`, or returns null where the platform has no CompressionStream. */
export async function deflate(bytes: Uint8Array): Promise<Uint8Array | null> {
  if (!hasStreams()) return null;
  return through(new CompressionStream('deflate'), bytes);
}

/**
 * Inflates zlib-format `bytes`, stopping (and throwing) as soon as the output would exceed
 * `maxBytes`, so a small "deflate bomb" cannot take gigabytes; throws naming the problem when
 * the bytes are not valid deflate data.
 */
export async function inflate(bytes: Uint8Array, maxBytes = Infinity): Promise<Uint8Array> {
  if (typeof DecompressionStream !== 'function') {
    throw new Error('this runtime has no DecompressionStream to read a compressed header');
  }
  const source = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream();
  const reader = source.pipeThrough(new DecompressionStream('deflate')).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new InflateLimitError(
          `compressed header inflates to more than ${maxBytes} bytes (from ${bytes.byteLength}): ` +
            'more than any header needs; the file is damaged or hostile',
        );
      }
      chunks.push(value);
    }
  } catch (e) {
    if (e instanceof InflateLimitError) throw e;
    throw new Error(`compressed header is not valid deflate data (${(e as Error).message})`, {
      cause: e,
    });
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

class InflateLimitError extends Error {}
