import { listApiKeys } from "../../../lib/auth/api-keys";
import { listLiveSessions } from "../../../lib/auth/sessions";
import { requirePage } from "../../_lib/session";
import { PageHeader, Section, StatusBadge } from "../../_ui/bits";
import { DataTable } from "../../_ui/data-table";
import { formatAgo, formatTime } from "../../_ui/format";
import { CreateKeyForm, RevokeKeyForm, RevokeSessionForm } from "./forms";

export const dynamic = "force-dynamic";
export const metadata = { title: "API keys" };

type LiveSession = Awaited<ReturnType<typeof listLiveSessions>>[number];

/** A session's holder: the GitHub login, or the key's name and prefix. */
function whoOf(s: LiveSession): string {
  return s.kind === "github"
    ? `github:${s.githubLogin}`
    : `${s.keyName} (key blst_${s.keyPrefix}…)`;
}

type Search = Promise<Record<string, string | string[] | undefined>>;

export default async function KeysPage({ searchParams }: { searchParams: Search }) {
  const viewer = await requirePage("admin");
  const params = await searchParams;
  const [keys, sessions] = await Promise.all([
    listApiKeys(viewer.runtime.db),
    listLiveSessions(viewer.runtime.db),
  ]);
  const active = keys.filter((k) => !k.revokedAt);
  const revoked = keys.filter((k) => k.revokedAt);
  return (
    <>
      <PageHeader
        title="API keys"
        description="Keys for the API, the CLI's remote calls and the console's sign-in. Viewers read; operators sync; admins add sources and manage keys."
      />
      {typeof params.revoked === "string" ? (
        <p className="notice-ok mb-4" role="status">
          Revoked the key blst_{params.revoked}…; its sessions ended with it.
        </p>
      ) : null}
      {params.session_revoked === "1" ? (
        <p className="notice-ok mb-4" role="status">
          Session ended.
        </p>
      ) : null}
      <div className="space-y-6">
        <Section title="Create a key" id="create">
          <CreateKeyForm />
        </Section>
        <Section title={`Active keys (${active.length})`} id="active">
          <DataTable
            label="Active keys"
            rows={active}
            rowKey={(k) => k.id}
            empty={<p className="muted text-sm">No active keys. Create one above.</p>}
            columns={[
              { header: "Name", className: "font-medium", cell: (k) => k.name },
              { header: "Key", className: "font-mono text-xs", cell: (k) => `blst_${k.prefix}_…` },
              { header: "Role", cell: (k) => k.role },
              {
                header: "Created",
                className: "text-xs",
                cell: (k) => (
                  <>
                    {formatTime(k.createdAt)}
                    <div className="muted">by {k.createdBy}</div>
                  </>
                ),
              },
              { header: "Last used", className: "text-xs", cell: (k) => formatAgo(k.lastUsedAt) },
              {
                header: "Actions",
                srOnly: true,
                cell: (k) => <RevokeKeyForm prefix={k.prefix} name={k.name} />,
              },
            ]}
          />
        </Section>
        <Section title={`Signed-in sessions (${sessions.length})`} id="sessions">
          <DataTable
            label="Sessions"
            rows={sessions}
            rowKey={(s) => s.id}
            empty={<p className="muted text-sm">Nobody is signed in.</p>}
            columns={[
              {
                header: "Who",
                cell: (s) => (
                  <>
                    {whoOf(s)}
                    {s.id === viewer.sessionId ? <span className="muted"> — you</span> : null}
                    <div className="muted text-xs">{s.client ?? ""}</div>
                  </>
                ),
              },
              { header: "Role", cell: (s) => s.role },
              { header: "Signed in", className: "text-xs", cell: (s) => formatTime(s.createdAt) },
              { header: "Last seen", className: "text-xs", cell: (s) => formatAgo(s.lastSeenAt) },
              { header: "Expires", className: "text-xs", cell: (s) => formatTime(s.expiresAt) },
              {
                header: "Actions",
                srOnly: true,
                cell: (s) => <RevokeSessionForm id={s.id} label={whoOf(s)} />,
              },
            ]}
          />
        </Section>
        {revoked.length > 0 ? (
          <Section title={`Revoked keys (${revoked.length})`} id="revoked">
            <ul className="space-y-1 text-sm">
              {revoked.map((k) => (
                <li key={k.id} className="flex flex-wrap items-center gap-2">
                  <span>{k.name}</span>
                  <span className="muted font-mono text-xs">blst_{k.prefix}_…</span>
                  <StatusBadge status="revoked" />
                  <span className="muted text-xs">revoked {formatTime(k.revokedAt)}</span>
                </li>
              ))}
            </ul>
          </Section>
        ) : null}
      </div>
    </>
  );
}
