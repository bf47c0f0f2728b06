import { appendFile } from "node:fs/promises";
import path from "node:path";
import { eq } from "drizzle-orm";
import { sources } from "../db/schema";
import { createApiKey } from "../lib/auth/api-keys";
import { signGitHubPayload } from "../lib/webhooks/github-signature";
import { baseEnv, startApp } from "../tests/support/app-server";
import { FakeGitHub } from "../tests/support/fake-github";
import { Random } from "./corpus/random";
import { git } from "./git";
import { openBenchRuntime } from "./runtime";

/**
 * Freshness: the app on the embedded defaults (next start, its embedded runner, no Inngest)
 * with the bench repository indexed; pushes that each change one file arrive as signed GitHub
 * webhooks; for each, the time from the webhook's 2xx to the first /api/search that returns
 * the new text. The repository is served by a loopback GitHub backed by the bench's clone, so
 * the app syncs it through the GitHub API as it would in production.
 */
export interface FreshnessMeasurement {
  pushes: number;
  found: number;
  timeouts: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  samplesMs: number[];
  /** Search requests made while waiting (the poll is the bench's, not the app's). */
  searches: number;
}

const SECRET = "bench-freshness-webhook-secret-0001";
const FULL_NAME = "bench/corpus";
const PER_PUSH_TIMEOUT_MS = 30_000;
const SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "nu",
  "pe",
  "ro",
  "su",
  "ta",
  "vi",
  "zo",
  "qua",
  "xe",
  "bri",
  "dov",
  "gu",
];

function nonceWord(random: Random): string {
  let word = "";
  for (let i = 0; i < 4; i++) word += SYLLABLES[random.int(0, SYLLABLES.length - 1)];
  return word;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export async function measureFreshness(options: {
  root: string;
  dataDir: string;
  repoDir: string;
  sourceName: string;
  pushes: number;
  seed: string;
  status: (message: string) => void;
}): Promise<FreshnessMeasurement> {
  const { status } = options;
  const random = new Random(`${options.seed}:freshness`);
  const branch = (await git(options.repoDir, ["rev-parse", "--abbrev-ref", "HEAD"])).trim();

  // The indexed git source becomes a GitHub source of the same repository (same documents,
  // same cursor), so pushes reach it as they would in production.
  const bench = await openBenchRuntime(options.dataDir, options.root);
  let key: string;
  try {
    const { db } = bench.runtime;
    await db
      .update(sources)
      .set({ kind: "github", location: FULL_NAME })
      .where(eq(sources.name, options.sourceName));
    key = (await createApiKey(db, { name: "bench-freshness", role: "viewer", createdBy: "bench" }))
      .key;
  } finally {
    await bench.runtime.close();
  }

  const github = await FakeGitHub.start({ repos: { [FULL_NAME]: options.repoDir } });
  status("freshness: starting the app (next start) on the bench database");
  const app = await startApp(
    baseEnv(options.dataDir, {
      GITHUB_API_URL: github.url,
      GITHUB_TOKEN: github.token,
      GITHUB_WEBHOOK_SECRET: SECRET,
      LOG_LEVEL: "warn",
    }),
  );
  const files = (await git(options.repoDir, ["ls-files"]))
    .split("\n")
    .filter((f) => /\.(md|ts|js|py|go|rs|java|txt)$/.test(f));
  const samples: number[] = [];
  let timeouts = 0;
  let searches = 0;
  try {
    for (let i = 0; i < options.pushes; i++) {
      const file = files[random.int(0, files.length - 1)] as string;
      const words = [nonceWord(random), nonceWord(random), nonceWord(random)];
      const before = (await git(options.repoDir, ["rev-parse", "HEAD"])).trim();
      await appendFile(
        path.join(options.repoDir, file),
        `\n\nFreshness check ${i}: ${words.join(" ")} recorded here.\n`,
      );
      await git(options.repoDir, [
        "-c",
        "user.name=bench",
        "-c",
        "user.email=bench@ballast.invalid",
        "commit",
        "-qam",
        `freshness ${i}`,
      ]);
      const after = (await git(options.repoDir, ["rev-parse", "HEAD"])).trim();
      const body = JSON.stringify({
        ref: `refs/heads/${branch}`,
        before,
        after,
        created: false,
        deleted: false,
        forced: false,
        repository: { full_name: FULL_NAME, default_branch: branch },
        head_commit: { id: after, timestamp: new Date().toISOString() },
        commits: [{ id: after, added: [], modified: [file], removed: [] }],
      });
      const response = await fetch(`${app.url}/api/webhooks/github`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "push",
          "x-github-delivery": `bench-freshness-${Date.now()}-${i}`,
          "x-hub-signature-256": signGitHubPayload(SECRET, body),
        },
        body,
      });
      if (response.status !== 202)
        throw new Error(`the webhook answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
      const accepted = performance.now();
      const query = `/api/search?q=${encodeURIComponent(words.join(" "))}&k=5`;
      let found = false;
      while (performance.now() - accepted < PER_PUSH_TIMEOUT_MS) {
        searches++;
        const answer = await fetch(`${app.url}${query}`, {
          headers: { authorization: `Bearer ${key}` },
        });
        const hits = (await answer.json()) as { results?: { path: string; snippet: string }[] };
        if (hits.results?.some((h) => h.path === file && h.snippet.includes(words[0] as string))) {
          found = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      if (found) samples.push(Math.round(performance.now() - accepted));
      else timeouts++;
      status(
        `freshness ${i + 1}/${options.pushes}: ${found ? `${samples.at(-1)} ms` : `not found within ${PER_PUSH_TIMEOUT_MS / 1000} s`} (${file})`,
      );
    }
  } finally {
    await app.stop();
    await github.close();
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    pushes: options.pushes,
    found: samples.length,
    timeouts,
    p50Ms: percentile(sorted, 50),
    p95Ms: percentile(sorted, 95),
    maxMs: sorted.at(-1) ?? 0,
    samplesMs: samples,
    searches,
  };
}
