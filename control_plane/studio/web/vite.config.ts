import { defineConfig } from "vite";

// The build goes into the Python package (../static), served by the control plane at /studio/.
export default defineConfig({
  base: "/studio/",
  build: {
    outDir: "../static",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    manifest: true, // static/.vite/manifest.json: the chunk graph the size test reads (never served)
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1200,
  },
});
