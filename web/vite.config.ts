/// <reference types="node" />
// The playground: `vite web` (dev server) and `vite build web` (static files in web/dist, with
// relative URLs so they work from any static server or folder).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { mnistAsset } from './mnist-asset.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  base: './',
  plugins: [mnistAsset()],
  // the training worker (web/src/train-worker.ts) is an ES module worker: it imports tfjs and
  // the wasm binaries' URLs like the page does
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
  },
  server: {
    fs: { allow: [repoRoot] },
  },
});
