import { defineConfig } from 'vite';

// JSX goes through Vite's built-in Oxc transform with React's automatic
// runtime, so no React plugin is needed. Fast refresh is not available
// without one: `npm run dev` reloads the whole page on a change.
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic' } },
  server: { host: '127.0.0.1', port: 5173, strictPort: true },
  preview: { host: '127.0.0.1', port: 5173, strictPort: true },
});
