/**
 * Backend selection for CLI commands. Uses `selectBackend(name)` from src/backend/select.ts
 * when it is built (it also registers our wasm training kernels); until then, a plain
 * fallback: wasm, cpu, tensorflow (needs @tensorflow/tfjs-node), webgpu, auto.
 */
import * as tf from '@tensorflow/tfjs';

export const BACKEND_NAMES = ['wasm', 'cpu', 'tensorflow', 'webgpu', 'auto'] as const;

/** Selects the tfjs backend `name`; returns the backend in use. Throws a one-line error. */
export async function useBackend(name: string): Promise<string> {
  const select = await loadSelectBackend();
  if (select) {
    await select(name);
    await tf.ready();
    return tf.getBackend();
  }
  return fallbackSelect(name);
}

type SelectBackend = (name: string) => Promise<unknown>;

async function loadSelectBackend(): Promise<SelectBackend | null> {
  // A computed specifier: the module may not exist yet, and must not be bundled or type-checked.
  const specifier = ['..', 'backend', 'select.js'].join('/');
  try {
    const mod = (await import(specifier)) as { selectBackend?: SelectBackend };
    return typeof mod.selectBackend === 'function' ? mod.selectBackend : null;
  } catch (err) {
    const missing = (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND';
    if (missing && /select\.js' imported from/.test(String(err))) return null;
    throw err;
  }
}

async function fallbackSelect(name: string): Promise<string> {
  switch (name) {
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      break;
    case 'tensorflow':
      await importOptional('@tensorflow/tfjs-node', 'tensorflow');
      break;
    case 'webgpu':
      await importOptional('@tensorflow/tfjs-backend-webgpu', 'webgpu');
      break;
    case 'auto':
      return fallbackSelect((await hasModule('@tensorflow/tfjs-node')) ? 'tensorflow' : 'wasm');
    case 'cpu':
      break;
    default:
      throw new Error(`unknown backend '${name}' (expected one of ${BACKEND_NAMES.join(', ')})`);
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`backend '${name}' is not available here`);
  await tf.ready();
  return tf.getBackend();
}

async function importOptional(pkg: string, backend: string): Promise<void> {
  try {
    await import(pkg);
  } catch {
    throw new Error(`backend '${backend}' needs the package ${pkg}, which is not installed`);
  }
}

async function hasModule(pkg: string): Promise<boolean> {
  try {
    await import(pkg);
    return true;
  } catch {
    return false;
  }
}
