#!/bin/sh
# Prepares, on this machine, everything a GPU session's one device run needs (docs/webgpu.md):
#   sh scripts/gpu-kit.sh
# .gpu/kit/ (scripts/bundle-cli.mjs --kit: the CLI and the GPU bench bundled, dawn.node, this
# Node, tfjs's wasm binaries) plus the conformance vectors xz'd into it, and .gl/ (Debian's
# Vulkan and GL loader packages, which a bare GPU machine may lack; ~0.4 MiB). Both are
# gitignored: the device run carries them (the run tool's carry [".gpu/kit", ".gl"], ~36 MiB
# of its 64), then runs, in the repo root there:
#   UNPACK_GL=1 sh scripts/gpu-measure.sh .gpu/kit "$OUT"
set -eu
cd "$(dirname "$0")/.."
npm run build
node scripts/bundle-cli.mjs --kit
for v in vectors vectors-optimal; do
  xz -c "../shared/conformance/$v.json" > ".gpu/kit/$v.json.xz"
done
rm -rf .gl && mkdir -p .gl
(cd .gl && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .gpu/kit .gl
