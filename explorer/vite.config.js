// Builds the Explorer into the Python package, where rmtc.server.explorer serves it.
// Strict CSP: no inline scripts or styles, no data: assets, no modulepreload polyfill snippet.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: fileURLToPath(new URL("../src/rmtc/server/explorer_dist", import.meta.url)),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
});
