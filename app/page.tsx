export const dynamic = "force-dynamic";

export default function Home() {
  return (
    <main>
      <h1>Ballast</h1>
      <p>Keeps a searchable knowledge index in sync with code repositories.</p>
      <ul>
        <li>
          <a href="/api/health">/api/health</a> — readiness of every backend
        </li>
        <li>
          <code>GET /api/search?q=…</code> — search (needs an API key:{" "}
          <code>npx ballast keys create</code>)
        </li>
        <li>
          <code>/api/admin/*</code> — admin API (config, sources, runs, audit)
        </li>
        <li>
          <code>/api/inngest</code> — the Inngest endpoint
        </li>
      </ul>
    </main>
  );
}
