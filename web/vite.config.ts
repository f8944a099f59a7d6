import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The dashboard is built into dist/web, which `bulwark serve` serves at /.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: '../dist/web', emptyOutDir: true, sourcemap: false },
});
