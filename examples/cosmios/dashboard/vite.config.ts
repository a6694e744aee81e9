import { defineConfig } from 'vite';

export default defineConfig({
  // esbuild's automatic JSX runtime is all the app needs (no fast-refresh plugin).
  esbuild: { jsx: 'automatic' },
  resolve: {
    // The SDK packages are linked from sdk-ts/, which has its own node_modules: without this a
    // second copy of React (or of the client) would be bundled from there.
    dedupe: ['react', 'react-dom', '@cosmictron/client'],
  },
  build: { outDir: 'dist', target: 'es2022', emptyOutDir: true },
  // `npm run dev` against a server on the default port (`cosmictron serve --demo`).
  server: { proxy: { '/v1': { target: 'http://127.0.0.1:3000', ws: true } } },
});
