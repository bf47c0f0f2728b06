import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { createApiKey } from "../../lib/auth/api-keys";
import { addSource } from "../../lib/pipeline/source-records";
import { corpusKey, ensureCorpus } from "../corpus/generate";
import { git } from "../git";
import { openBenchRuntime } from "../runtime";
import { addGitSource, countChunks, measureSync } from "../sync";

/**
 * The database the load runs against, on the embedded defaults: the bench corpus (bench/corpus,
 * 10,000 generated files by default) indexed into PGlite — done once and cached under
 * .data/load-cache/, keyed by the corpus and the migrations, then copied for each run so every
 * run starts from the same state — plus, per run, the tracked GitHub sources that webhook
 * pushes name and a viewer API key. The app must not be running on this data dir: PGlite is
 * one process at a time (the app serves it to others once it runs).
 */
export interface PreparedData {
  dataDir: string;
  viewerKey: string;
  corpus: { files: number; chunks: number; commit: string };
  /** "owner/name" of the tracked repositories (all served by one small git repository). */
  tracked: string[];
  trackedRepoDir: string;
  trackedHead: string;
}

async function migrationsHash(root: string): Promise<string> {
  const dir = path.join(root, "db", "migrations");
  const hash = createHash("sha256");
  for (const name of (await readdir(dir)).filter((n) => n.endsWith(".sql")).sort()) {
    hash.update(name);
    hash.update(await readFile(path.join(dir, name)));
  }
  return hash.digest("hex").slice(0, 12);
}

/** A small repository that every tracked source reads (through the loopback GitHub). */
async function trackedRepository(dir: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(path.join(dir, "src"), { recursive: true });
  await git(dir, ["init", "-q", "--initial-branch=main"]);
  await writeFile(
    path.join(dir, "README.md"),
    "# Tracked service\n\nA repository that load-test pushes name; its sync is small.\n",
  );
  await writeFile(
    path.join(dir, "src", "handler.ts"),
    "export function handle(request: Request): Response {\n  return new Response('ok');\n}\n",
  );
  await git(dir, ["add", "-A"]);
  await git(dir, [
    "-c",
    "user.name=load",
    "-c",
    "user.email=load@ballast.invalid",
    "commit",
    "-qm",
    "tracked service",
  ]);
  return (await git(dir, ["rev-parse", "HEAD"])).trim();
}

export async function prepareData(options: {
  root: string;
  workDir: string;
  files: number;
  seed: string;
  trackedRepositories: number;
  status: (message: string) => void;
}): Promise<PreparedData> {
  const { root, status } = options;
  const spec = { seed: options.seed, files: options.files, bytes: options.files * 5_000 };
  const corpus = await ensureCorpus(spec, path.join(root, ".data", "bench-cache"), status);
  const cacheDir = path.join(
    root,
    ".data",
    "load-cache",
    `${corpusKey(spec)}-m${await migrationsHash(root)}`,
  );
  const manifestFile = path.join(cacheDir, "index.json");
  if (!existsSync(manifestFile)) {
    status(
      `indexing the corpus (${options.files} files) once into ${path.relative(root, cacheDir)}`,
    );
    const building = `${cacheDir}.tmp-${process.pid}`;
    await rm(building, { recursive: true, force: true });
    const bench = await openBenchRuntime(building, root);
    let chunks = 0;
    try {
      const source = await addGitSource(bench, "bench-corpus", corpus.repoDir);
      const sync = await measureSync(bench, source.id);
      if (sync.status !== "succeeded") throw new Error(`indexing the corpus ended ${sync.status}`);
      chunks = await countChunks(bench);
    } finally {
      await bench.runtime.close();
    }
    await writeFile(
      path.join(building, "index.json"),
      JSON.stringify({ files: corpus.files, chunks, commit: corpus.commit }),
    );
    await rm(cacheDir, { recursive: true, force: true });
    await rename(building, cacheDir);
  }
  const indexed = JSON.parse(await readFile(manifestFile, "utf8")) as PreparedData["corpus"];

  const dataDir = path.join(options.workDir, "data");
  status("copying the indexed database for this run");
  await cp(path.join(cacheDir, "pglite"), path.join(dataDir, "pglite"), { recursive: true });

  const trackedRepoDir = path.join(options.workDir, "tracked-repo");
  const trackedHead = await trackedRepository(trackedRepoDir);
  const tracked = Array.from(
    { length: options.trackedRepositories },
    (_, i) => `load-org/tracked-${String(i + 1).padStart(2, "0")}`,
  );
  const bench = await openBenchRuntime(dataDir, root);
  let viewerKey: string;
  try {
    const { db } = bench.runtime;
    for (const fullName of tracked)
      await addSource(db, {
        kind: "github",
        location: fullName,
        branch: "main",
        name: fullName.replace("/", "-"),
      });
    viewerKey = (await createApiKey(db, { name: "load", role: "viewer", createdBy: "load" })).key;
  } finally {
    await bench.runtime.close();
  }
  return { dataDir, viewerKey, corpus: indexed, tracked, trackedRepoDir, trackedHead };
}
