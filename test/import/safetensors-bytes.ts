/** Builds safetensors bytes for tests: raw header JSON (any text) and raw data. */
export function rawSafetensors(
  header: string,
  data: Uint8Array,
  lengthOverride?: bigint,
): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** A well-formed file holding float32 tensors, in the given order. */
export function f32Safetensors(
  tensors: Record<string, { shape: number[]; values: number[] }>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = new Uint8Array(Float32Array.from(t.values).buffer);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
    parts.push(bytes);
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return rawSafetensors(JSON.stringify(header), data);
}
