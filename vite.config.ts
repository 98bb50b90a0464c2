import { defineConfig } from 'vite';

// A static, multi-page build with a relative base so the app works from any path, including a
// gateway's /ipfs/<cid>/. The e2e pages are built alongside so browsers test the built output.
export default defineConfig({
  base: './',
  build: {
    target: 'es2022',
    sourcemap: true,
    rollupOptions: {
      input: {
        main: 'index.html',
        bench: 'bench.html',
        // The embeddable <tabshard-chat>: emitted at a stable name, dist/widget.js, for one script tag.
        widget: 'src/widget/index.ts',
        kernels: 'e2e/pages/kernels.html',
        'engine-f16': 'e2e/pages/engine-f16.html',
        families: 'e2e/pages/families.html',
        store: 'e2e/pages/store.html',
        shard: 'e2e/pages/shard.html',
        onnx: 'e2e/pages/onnx.html',
        auto: 'e2e/pages/auto.html',
        peers: 'bench/pages/peers.html',
        ort: 'bench/pages/ort.html',
        'onnx-bench': 'bench/pages/onnx.html',
        'store-bench': 'bench/pages/store.html',
        'cpu-bench': 'bench/pages/cpu.html',
      },
      output: {
        entryFileNames: (chunk) => (chunk.name === 'widget' ? 'widget.js' : 'assets/[name]-[hash].js'),
      },
      // Keep the widget entry's exports (TabshardChat, setAssetBase) for pages that import it.
      preserveEntrySignatures: 'exports-only',
    },
  },
  worker: { format: 'es' },
  server: { host: '127.0.0.1', strictPort: false },
  preview: { host: '127.0.0.1' },
});
