import { readFile } from "node:fs/promises";
import { z } from "zod";
import { ValidationError } from "../errors";

/**
 * A golden set: questions a developer would ask about one repository, each with the files
 * that answer it. Relevance is by file: a result is relevant when its path is expected.
 *
 * ```json
 * {
 *   "name": "ws",
 *   "description": "…",
 *   "source": { "kind": "npm", "package": "ws", "version": "8.23.0" },
 *   "questions": [
 *     { "id": "ws-01", "question": "where is Sec-WebSocket-Accept computed", "expected": ["lib/websocket-server.js"] }
 *   ]
 * }
 * ```
 *
 * Sources: `npm` — a package installed under node_modules, copied into a git repository in a
 * temp dir (the installed version must equal `version`); `repository` — this checkout's
 * committed files at HEAD; `git` — any local git repository or git URL (`location`, `branch`).
 * `ballast eval --source NAME` instead evaluates a source that is already indexed.
 */
const questionSchema = z.object({
  id: z.string().min(1).max(100),
  question: z.string().trim().min(1).max(1000),
  expected: z.array(z.string().min(1).max(1000)).min(1).max(50),
});

export const goldenSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits, . _ - (1-64)"),
  description: z.string().max(2000).optional(),
  source: z
    .discriminatedUnion("kind", [
      z.object({
        kind: z.literal("npm"),
        package: z.string().regex(/^(@[a-z0-9._-]+\/)?[a-z0-9._-]+$/, "an npm package name"),
        version: z.string().min(1).max(100),
      }),
      z.object({ kind: z.literal("repository") }),
      z.object({
        kind: z.literal("git"),
        location: z.string().min(1).max(2000),
        branch: z.string().min(1).max(255).optional(),
      }),
    ])
    .optional(),
  questions: z.array(questionSchema).min(1).max(1000),
});

export type GoldenSet = z.infer<typeof goldenSchema>;
export type GoldenQuestion = z.infer<typeof questionSchema>;

export function parseGolden(text: string, origin = "golden file"): GoldenSet {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ValidationError(`${origin} is not valid JSON: ${(error as Error).message}`);
  }
  const parsed = goldenSchema.safeParse(json);
  if (!parsed.success)
    throw new ValidationError(
      `${origin} is not a golden set`,
      parsed.error.issues.map((issue) => ({
        path: issue.path.join(".") || "(root)",
        message: issue.message,
      })),
    );
  const ids = new Set<string>();
  for (const q of parsed.data.questions) {
    if (ids.has(q.id))
      throw new ValidationError(`${origin}: question id ${q.id} appears twice`, [
        { path: "questions", message: `duplicate id ${q.id}` },
      ]);
    ids.add(q.id);
  }
  return parsed.data;
}

export async function loadGolden(file: string): Promise<GoldenSet> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ValidationError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  return parseGolden(text, file);
}
