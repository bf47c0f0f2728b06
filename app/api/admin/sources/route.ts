import { z } from "zod";
import { adminRoute } from "../../../../lib/http/admin";
import { json, readJsonBody } from "../../../../lib/http/respond";
import { addSource, listSources } from "../../../../lib/pipeline/source-records";
import { parseSourceArgument } from "../../../../lib/sources";

export const dynamic = "force-dynamic";

/** Sources with their cursor and document count (viewer). */
export const GET = adminRoute({ role: "viewer", action: "sources.list" }, async ({ runtime }) =>
  json({ sources: await listSources(runtime.db) }),
);

const newSource = z.strictObject({
  location: z.string().min(1).max(2000),
  name: z.string().min(1).max(63).optional(),
  branch: z.string().min(1).max(255).optional(),
  include: z.array(z.string().min(1).max(500)).max(100).optional(),
  exclude: z.array(z.string().min(1).max(500)).max(100).optional(),
  maxFileBytes: z.number().int().min(1).optional(),
});

/** Adds a source: `{ "location": "github:owner/repo" | "https://github.com/o/r" | git URL | path }` (admin). */
export const POST = adminRoute(
  { role: "admin", action: "sources.add" },
  async ({ runtime, request, note }) => {
    const body = newSource.parse(await readJsonBody(request));
    const location = parseSourceArgument(body.location);
    const source = await addSource(runtime.db, {
      ...location,
      ...body,
      branch: body.branch ?? location.branch,
    });
    note({ source: source.name, kind: source.kind });
    return json({ source }, 201);
  },
);
