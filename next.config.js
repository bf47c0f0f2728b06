/**
 * Next.js configuration. Server-only packages with native/WASM parts or worker threads are
 * left to Node instead of the bundler; the migrations folder ships with the server build so
 * the embedded database can migrate itself.
 * @type {import('next').NextConfig}
 */
const nextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  serverExternalPackages: [
    "@electric-sql/pglite",
    "@electric-sql/pglite-pgvector",
    "@neondatabase/serverless",
    "pg",
    "ws",
    "pino",
    "gpt-tokenizer",
  ],
  outputFileTracingIncludes: { "/**": ["./db/migrations/**"] },
  // forbidden() renders app/forbidden.tsx with a 403 for a role too low for a console page.
  experimental: { authInterrupts: true },
};

export default nextConfig;
