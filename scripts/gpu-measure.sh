#!/bin/sh
# The webgpu measurements of docs/webgpu.md, on a Linux x64 machine with an NVIDIA GPU and no
# node_modules (nor Node, nor a registry), from the kit of `node scripts/bundle-cli.mjs --kit`:
#   sh scripts/gpu-measure.sh KIT OUT
# KIT: that kit folder (.gpu/kit), plus vectors.json.xz and vectors-optimal.json.xz (the
# conformance vectors, xz'd); OUT: where the logs and JSON go. With UNPACK_GL=1 (as root),
# Debian's Vulkan and GL loader packages in ./.gl (libvulkan1 libegl1 libglvnd0 libopengl0
# libgl1 libglx0 libgles2) are unpacked into / first: a bare machine may have the NVIDIA driver
# but no Vulkan loader. BENCH_ARGS overrides the benchmark's arguments; WASM_THREADS (default 0
# = skip; N: threads) reruns wasm threaded; TRAIN=0 skips the two short `parq train` runs.
# Each step has a time limit, together ~425 s at most (a device session's 15 minutes hold the
# machine's start, this and a rerun); the bench writes its JSON after every row, so a step cut
# short keeps what it measured. `sh scripts/gpu-kit.sh` prepares KIT and .gl on a dev machine.
set -u
kit=${1:?usage: gpu-measure.sh KIT OUT}
out=${2:?usage: gpu-measure.sh KIT OUT}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ "${UNPACK_GL:-0}" = 1 ] && [ -d .gl ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
dir=/tmp/parq-gpu
sh "$kit/unpack.sh" "$dir" || exit 1
for v in vectors vectors-optimal; do xz -dc "$kit/$v.json.xz" > "$dir/$v.json"; done
export WEBGPU_NODE="$dir/dawn.node"
cd "$dir" || exit 1
nvidia-smi -L 2>/dev/null
echo "cores: $(nproc)"

step() { # step NAME SECONDS COMMAND...: run with a time limit (then SIGKILL 10 s on: the CLI
  # finishes its step on SIGTERM), log to OUT/NAME.log
  name=$1; limit=$2; shift 2
  echo "\$ $*" | tee "$out/$name.log"
  start=$(date +%s%N)
  timeout -k 10 "$limit" "$@" >> "$out/$name.log" 2>&1
  rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  grep -v 'artificially reduced' "$out/$name.log" | tail -n +2
  echo "[$name: exit $rc, $ms ms wall]"
}

step conformance 45 ./node parq.cjs conformance vectors.json --backend webgpu
step conformance-optimal 20 ./node parq.cjs conformance vectors-optimal.json --backend webgpu
# shellcheck disable=SC2086
step bench 300 ./node gpu-train.cjs ${BENCH_ARGS:---backends webgpu,wasm --kernels --composed --unfused --protocol} \
  --json "$out/gpu-train.json"
if [ "${TRAIN:-1}" != 0 ]; then
  step train-parq 30 ./node parq.cjs train --backend webgpu --epochs 3
  step train-fp 30 ./node parq.cjs train --backend webgpu --method fp --epochs 3
fi
threads=${WASM_THREADS:-0}
if [ "$threads" != 0 ]; then
  step bench-wasm-threads 240 ./node gpu-train.cjs --backends wasm --wasm-threads "$threads" \
    --json "$out/gpu-train-wasm-threads.json"
fi
