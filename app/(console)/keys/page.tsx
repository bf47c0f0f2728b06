import { listApiKeys } from "../../../lib/auth/api-keys";
import { listLiveSessions } from "../../../lib/auth/sessions";
import { requirePage } from "../../_lib/session";
import { PageHeader, Section, StatusBadge, TableWrap } from "../../_ui/bits";
import { formatAgo, formatTime } from "../../_ui/format";
import { CreateKeyForm, RevokeKeyForm, RevokeSessionForm } from "./forms";

export const dynamic = "force-dynamic";
export const metadata = { title: "API keys" };

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
          {active.length === 0 ? (
            <p className="muted text-sm">No active keys. Create one above.</p>
          ) : (
            <TableWrap label="Active keys">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Key</th>
                    <th scope="col">Role</th>
                    <th scope="col">Created</th>
                    <th scope="col">Last used</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {active.map((k) => (
                    <tr key={k.id}>
                      <td className="font-medium">{k.name}</td>
                      <td className="font-mono text-xs">blst_{k.prefix}_…</td>
                      <td>{k.role}</td>
                      <td className="text-xs">
                        {formatTime(k.createdAt)}
                        <div className="muted">by {k.createdBy}</div>
                      </td>
                      <td className="text-xs">{formatAgo(k.lastUsedAt)}</td>
                      <td>
                        <RevokeKeyForm prefix={k.prefix} name={k.name} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </TableWrap>
          )}
        </Section>
        <Section title={`Signed-in sessions (${sessions.length})`} id="sessions">
          {sessions.length === 0 ? (
            <p className="muted text-sm">Nobody is signed in.</p>
          ) : (
            <TableWrap label="Sessions">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Who</th>
                    <th scope="col">Role</th>
                    <th scope="col">Signed in</th>
                    <th scope="col">Last seen</th>
                    <th scope="col">Expires</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {sessions.map((s) => {
                    const who =
                      s.kind === "github"
                        ? `github:${s.githubLogin}`
                        : `${s.keyName} (key blst_${s.keyPrefix}…)`;
                    return (
                      <tr key={s.id}>
                        <td>
                          {who}
                          {s.id === viewer.sessionId ? <span className="muted"> — you</span> : null}
                          <div className="muted text-xs">{s.client ?? ""}</div>
                        </td>
                        <td>{s.role}</td>
                        <td className="text-xs">{formatTime(s.createdAt)}</td>
                        <td className="text-xs">{formatAgo(s.lastSeenAt)}</td>
                        <td className="text-xs">{formatTime(s.expiresAt)}</td>
                        <td>
                          <RevokeSessionForm id={s.id} label={who} />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </TableWrap>
          )}
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
