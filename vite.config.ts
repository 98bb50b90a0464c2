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
        kernels: 'e2e/pages/kernels.html',
        store: 'e2e/pages/store.html',
        shard: 'e2e/pages/shard.html',
        onnx: 'e2e/pages/onnx.html',
        peers: 'bench/pages/peers.html',
      },
    },
  },
  worker: { format: 'es' },
  server: { host: '127.0.0.1', strictPort: false },
  preview: { host: '127.0.0.1' },
});
