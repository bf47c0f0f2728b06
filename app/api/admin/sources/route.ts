import { z } from "zod";
import { adminRoute } from "../../../../lib/http/admin";
import { json, readJsonBody } from "../../../../lib/http/respond";
import {
  addSource,
  listSources,
  MAX_FILE_BYTES_RANGE,
  parseNewSource,
  sourceView,
} from "../../../../lib/pipeline/source-records";
import { checkSourceAccess, sourceAccessPolicyFor } from "../../../../lib/security/source-access";

export const dynamic = "force-dynamic";

/** Sources with their cursor and document count (viewer); locations shown redacted. */
export const GET = adminRoute({ role: "viewer", action: "sources.list" }, async ({ runtime }) =>
  json({ sources: (await listSources(runtime.db)).map(sourceView) }),
);

const { min, max } = MAX_FILE_BYTES_RANGE;
const newSource = z.strictObject({
  location: z.string().min(1).max(2000),
  name: z.string().min(1).max(63).optional(),
  branch: z.string().min(1).max(255).optional(),
  include: z.array(z.string().min(1).max(500)).max(100).optional(),
  exclude: z.array(z.string().min(1).max(500)).max(100).optional(),
  maxFileBytes: z
    .number({ message: `must be a whole number of bytes from ${min} to ${max}` })
    .int({ message: `must be a whole number of bytes from ${min} to ${max}` })
    .min(min, { message: `must be from ${min} to ${max} bytes` })
    .max(max, { message: `must be from ${min} to ${max} bytes (1 GiB)` })
    .optional(),
});

/**
 * Adds a source (admin): `{ "location": "github:owner/repo" | "https://github.com/o/r" | git URL
 * | path }`. The location is normalised by the same function the CLI uses; local paths must lie
 * under SOURCE_LOCAL_ROOTS and git URLs must pass the outbound URL policy.
 */
export const POST = adminRoute(
  { role: "admin", action: "sources.add" },
  async ({ runtime, request, note }) => {
    const source = parseNewSource(newSource.parse(await readJsonBody(request)));
    await checkSourceAccess(source, sourceAccessPolicyFor(runtime.config));
    const row = await addSource(runtime.db, source);
    note({ source: row.name, kind: row.kind });
    return json({ source: sourceView(row) }, 201);
  },
);
