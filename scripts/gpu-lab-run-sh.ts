// The run.sh a GPU-lab pack carries: the one command on the GPU machine. It never writes into the
// pack (the carried folder may be read-only): everything unpacks into a temp dir. Arguments go to
// the benchmark (e.g. `bash .gpu-lab/run.sh --size small`). Exit status: the benchmark's.
export function runScript(): string {
  return `#!/usr/bin/env bash
# tabshard GPU lab: unpack Node, Dawn's binding and the Vulkan/GL libraries, run the benchmark,
# writing its JSON and log to $OUT (or to ./gpu-lab-results when OUT is unset).
set -u
here="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d "\${TMPDIR:-/tmp}/gpu-lab.XXXXXX")"
dest="\${OUT:-$PWD/gpu-lab-results}"
mkdir -p "$dest"
log="$dest/gpu-lab.log"
say() { echo "gpu-lab: $*" | tee -a "$log"; }
: > "$log"
say "pack $here, work dir $work, results to $dest"

if [ -f "$here/node.xz" ]; then
  xz -dc "$here/node.xz" > "$work/node" && chmod +x "$work/node" || { say "cannot unpack node.xz"; exit 2; }
  NODE="$work/node"
else
  NODE="$(command -v node || true)"
  [ -n "$NODE" ] || { say "no node.xz in the pack and no node on PATH"; exit 2; }
fi
# The bundle imports 'webgpu' as ESM, which resolves from node_modules beside it (not NODE_PATH).
mkdir -p "$work/node_modules" && tar -C "$work/node_modules" -xJf "$here/webgpu.txz" || { say "cannot unpack webgpu.txz"; exit 2; }
cp "$here/bench.mjs" "$work/bench.mjs"

libs=""
if [ -f "$here/gl-libs.txz" ]; then
  mkdir -p "$work/lib" && tar -C "$work/lib" -xJf "$here/gl-libs.txz"
  # A library the machine has already is used from the system, not from the pack.
  for f in "$work"/lib/*; do
    if command -v ldconfig >/dev/null && ldconfig -p 2>/dev/null | awk '{print $1}' | grep -Fxq "$(basename "$f")"; then rm -f "$f"; fi
  done
  libs="$work/lib"
  say "libraries from the pack: $(ls "$work/lib" | tr '\\n' ' ')"
fi
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib64/nvidia; do [ -d "$d" ] && libs="$libs:$d"; done
export LD_LIBRARY_PATH="\${libs#:}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ -z "\${VK_DRIVER_FILES:-}\${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES="$f"; break; fi
  done
fi
say "node $("$NODE" --version), VK_DRIVER_FILES=\${VK_DRIVER_FILES:-} VK_ICD_FILENAMES=\${VK_ICD_FILENAMES:-} LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
command -v nvidia-smi >/dev/null && nvidia-smi -L 2>&1 | tee -a "$log"

# The benchmark rewrites its JSON after every section, straight into $dest: a run cut short still
# leaves what it measured.
(cd "$work" && "$NODE" bench.mjs --out "$dest/gpu-lab.json" "$@") 2>&1 | tee -a "$log"
rc=\${PIPESTATUS[0]}
say "exit $rc; $( [ -f "$dest/gpu-lab.json" ] && echo "wrote $dest/gpu-lab.json" || echo "no JSON written")"
rm -rf "$work"
exit $rc
`;
}
