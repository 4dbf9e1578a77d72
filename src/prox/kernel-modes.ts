/**
 * The modes of the fused prox kernel (\`ParqProxMap\`) and their codes: the one table that the
 * JavaScript loops (fused-kernel.ts), the WebAssembly SIMD module (simd/prox.wat: its
 * \`$mode\` argument uses these codes) and the WGSL shader (backend/webgpu-prox.ts) follow.
 */
export const PROX_MODES = { hard: 0, parq: 1, relax: 2, soft: 3 } as const;

/** hard: nearest level (STE); parq: PARQ's piecewise-affine map; relax: BinaryRelax; soft: SoftQuant. */
export type ProxMode = keyof typeof PROX_MODES;
