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

/** Inflates zlib-format `bytes`; throws naming the problem when they are not valid deflate data. */
export async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  if (typeof DecompressionStream !== 'function') {
    throw new Error('this runtime has no DecompressionStream to read a compressed header');
  }
  try {
    return await through(new DecompressionStream('deflate'), bytes);
  } catch (e) {
    throw new Error(`compressed header is not valid deflate data (${(e as Error).message})`, {
      cause: e,
    });
  }
}
