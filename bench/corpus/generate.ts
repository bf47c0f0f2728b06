import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { git } from "../git";
import { EXTENSIONS, generateFile, type Language } from "./languages";
import { Random } from "./random";
import { NOUNS, snake, TOPICS, VERBS } from "./vocabulary";

/**
 * The bench corpus: a git repository of generated TypeScript, Python, Go and Markdown files,
 * deterministic for a (generator version, seed, file count, total size). Generated once and
 * cached under `.data/bench-cache/` (git-ignored); later runs reuse it.
 */

/** Bump when the generator's output changes, so stale caches are not reused. */
export const GENERATOR_VERSION = 2;

export interface CorpusSpec {
  seed: string;
  files: number;
  /** Target total size in bytes (the result is within a few percent). */
  bytes: number;
}

export interface CorpusManifest extends CorpusSpec {
  generatorVersion: number;
  /** The working tree of the repository (branch main, one commit). */
  repoDir: string;
  commit: string;
  totalBytes: number;
  byLanguage: Record<Language, { files: number; bytes: number }>;
  sizes: { min: number; p50: number; p90: number; p99: number; max: number; over20k: number };
  generatedInMs: number;
}

const LANGUAGE_MIX: readonly (readonly [Language, number])[] = [
  ["typescript", 40],
  ["python", 25],
  ["go", 15],
  ["markdown", 20],
];

const MIN_FILE = 150;

/** Folder names that Ballast's default excludes skip (dependencies, build output). */
const EXCLUDED_DIRS = new Set(["vendor", "build", "dist", "out", "target", "coverage"]);
const DIR_NOUNS = NOUNS.filter((n) => !EXCLUDED_DIRS.has(n));
const MAX_FILE = 56_000;

export function corpusKey(spec: CorpusSpec): string {
  return `corpus-v${GENERATOR_VERSION}-${spec.seed}-${spec.files}f-${spec.bytes}b`;
}

interface PlannedFile {
  path: string;
  language: Language;
  target: number;
}

/** Paths, languages and target sizes: a long-tailed (log-normal) size distribution. */
export function planCorpus(spec: CorpusSpec): PlannedFile[] {
  const rng = new Random(`plan:${spec.seed}`);
  const packages = Array.from(
    { length: 24 },
    () => `${rng.pick(DIR_NOUNS)}-${rng.pick(DIR_NOUNS)}`,
  );
  const services = Array.from(
    { length: 12 },
    () => `${rng.pick(DIR_NOUNS)}_${rng.pick(DIR_NOUNS)}`,
  );
  const goPackages = Array.from({ length: 16 }, () => rng.pick(DIR_NOUNS));
  const used = new Set<string>();
  const unique = (candidate: string) => {
    let p = candidate;
    for (let n = 2; used.has(p); n++) p = candidate.replace(/(\.[a-z]+)$/, `_${n}$1`);
    used.add(p);
    return p;
  };
  const dirOf = (language: Language): string => {
    const nested = () => Array.from({ length: rng.int(0, 2) }, () => rng.pick(DIR_NOUNS)).join("/");
    const join = (...parts: string[]) => parts.filter(Boolean).join("/");
    switch (language) {
      case "typescript":
        return rng.chance(0.8)
          ? join("packages", rng.pick(packages), "src", rng.pick(DIR_NOUNS), nested())
          : join(
              "apps",
              rng.pick(["admin", "portal", "api"]),
              "src",
              rng.pick(DIR_NOUNS),
              nested(),
            );
      case "python":
        return rng.chance(0.85)
          ? join(
              "services",
              rng.pick(services),
              rng.pick(services).split("_")[0] ?? "core",
              nested(),
            )
          : join("tools", rng.pick(DIR_NOUNS), nested());
      case "go":
        return rng.chance(0.15)
          ? join("cmd", rng.pick(DIR_NOUNS))
          : join(rng.pick(["internal", "pkg"]), rng.pick(goPackages), nested());
      case "markdown":
        return rng.chance(0.75)
          ? join(
              "docs",
              rng
                .pick(TOPICS)
                .toLowerCase()
                .replace(/[^a-z]+/g, "-"),
              nested(),
            )
          : join("packages", rng.pick(packages));
    }
  };
  const raw: { language: Language; size: number }[] = [];
  for (let i = 0; i < spec.files; i++) {
    raw.push({
      language: rng.weighted(LANGUAGE_MIX),
      size: Math.min(MAX_FILE, Math.max(MIN_FILE, rng.logNormal(3000, 1.0))),
    });
  }
  // Scale to the requested total (the generators overshoot each target by part of a block,
  // about 7% on average with their headers, which the factor allows for).
  const sum = raw.reduce((n, f) => n + f.size, 0);
  const factor = spec.bytes / sum / OVERSHOOT;
  return raw.map(({ language, size }) => {
    const base =
      language === "markdown"
        ? rng
            .pick(TOPICS)
            .toLowerCase()
            .replace(/[^a-z]+/g, "-")
        : language === "python"
          ? snake([rng.pick(VERBS), rng.pick(NOUNS)])
          : language === "go"
            ? snake([rng.pick(NOUNS), rng.pick(NOUNS)])
            : `${rng.pick(NOUNS)}-${rng.pick(NOUNS)}${rng.chance(0.15) ? ".test" : ""}`;
    return {
      path: unique(`${dirOf(language)}/${base}.${EXTENSIONS[language]}`),
      language,
      target: Math.round(Math.min(MAX_FILE, Math.max(MIN_FILE, size * factor))),
    };
  });
}

/** Measured mean ratio of generated size to target size (see planCorpus). */
const OVERSHOOT = 1.075;

export function generateText(spec: CorpusSpec, file: PlannedFile): string {
  return generateFile(file.language, new Random(`file:${spec.seed}:${file.path}`), file.target);
}

/** The cached corpus for `spec`, generating and committing it first if needed. */
export async function ensureCorpus(
  spec: CorpusSpec,
  cacheRoot: string,
  onStatus: (message: string) => void = () => {},
): Promise<CorpusManifest> {
  const dir = path.join(cacheRoot, corpusKey(spec));
  const manifestFile = path.join(dir, "manifest.json");
  if (existsSync(manifestFile)) {
    const manifest = JSON.parse(await readFile(manifestFile, "utf8")) as CorpusManifest;
    return { ...manifest, repoDir: path.join(dir, "repo") };
  }
  onStatus(
    `generating ${spec.files} files (~${(spec.bytes / 1e6).toFixed(0)} MB), seed ${spec.seed}`,
  );
  const started = performance.now();
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const repoDir = path.join(tmp, "repo");
  await mkdir(repoDir, { recursive: true });
  await git(repoDir, ["init", "-q", "--initial-branch=main"]);

  const planned = planCorpus(spec);
  const byLanguage = {
    typescript: { files: 0, bytes: 0 },
    python: { files: 0, bytes: 0 },
    go: { files: 0, bytes: 0 },
    markdown: { files: 0, bytes: 0 },
  } satisfies CorpusManifest["byLanguage"];
  const sizes: number[] = [];
  const dirs = new Set(planned.map((f) => path.dirname(path.join(repoDir, f.path))));
  for (const d of dirs) await mkdir(d, { recursive: true });
  for (let i = 0; i < planned.length; i += 64) {
    await Promise.all(
      planned.slice(i, i + 64).map(async (file) => {
        const text = generateText(spec, file);
        const bytes = Buffer.byteLength(text);
        byLanguage[file.language].files++;
        byLanguage[file.language].bytes += bytes;
        sizes.push(bytes);
        await writeFile(path.join(repoDir, file.path), text);
      }),
    );
  }
  onStatus("committing the corpus");
  await git(repoDir, ["add", "-A"]);
  await git(repoDir, ["commit", "-q", "-m", `bench corpus ${corpusKey(spec)}`]);
  const commit = (await git(repoDir, ["rev-parse", "HEAD"])).trim();
  sizes.sort((a, b) => a - b);
  const at = (q: number) => sizes[Math.min(sizes.length - 1, Math.floor(q * sizes.length))] ?? 0;
  const manifest: CorpusManifest = {
    ...spec,
    generatorVersion: GENERATOR_VERSION,
    repoDir: "",
    commit,
    totalBytes: sizes.reduce((n, s) => n + s, 0),
    byLanguage,
    sizes: {
      min: sizes[0] ?? 0,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: sizes[sizes.length - 1] ?? 0,
      over20k: sizes.filter((s) => s >= 20_000).length,
    },
    generatedInMs: Math.round(performance.now() - started),
  };
  await writeFile(path.join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return { ...manifest, repoDir: path.join(dir, "repo") };
}

/** Every file of the corpus's commit with its text, read from git (for the chunker bench). */
export async function readCorpusFiles(repoDir: string): Promise<{ path: string; text: string }[]> {
  const listing = await git(repoDir, ["ls-files", "-z"]);
  const paths = listing.split("\0").filter(Boolean);
  const out: { path: string; text: string }[] = [];
  for (let i = 0; i < paths.length; i += 128) {
    const texts = await Promise.all(
      paths.slice(i, i + 128).map((p) => readFile(path.join(repoDir, p), "utf8")),
    );
    texts.forEach((text, j) => {
      out.push({ path: paths[i + j] as string, text });
    });
  }
  return out;
}
