/**
 * The diff of one replayed event against the ledger: the index digest exactly; counts
 * (documents, chunks, embeddings) and errors; latency within a tolerance (a fraction of the
 * recorded latency, or an absolute floor); decisions (which files were planned, skipped and
 * why). Each event is `pass`, `drift` (tolerated: latency, embedding reuse, skip reasons,
 * error wording) or `critical` (a different index, outcome or plan), with its reasons and
 * the documents it affects named.
 */

export type Verdict = "pass" | "drift" | "critical";

export interface PlanData {
  mode: string;
  planned: [string, string, string | null][];
  skippedByReason: Record<string, number>;
  toCommit: string | null;
  cursorBefore: { commit: string | null; branch: string | null };
  branch: string | null;
  ms: number;
}

export interface BatchDocumentData {
  path: string;
  action: string;
  status: string;
  reason?: string;
  error?: string;
  contentHash?: string;
  chunks?: string[];
  chunksDeleted: number;
  chunksEmbedded: number;
}

export interface BatchData {
  batch: number;
  documents: BatchDocumentData[];
  embedding: { calls: number; texts: number; tokens: number };
  ms: { read: number; embed: number; write: number };
}

export interface RunData {
  status: string;
  mode: string | null;
  error: string | null;
  counts: Record<string, unknown> & {
    processed: number;
    skipped: number;
    failed: number;
    deleted: number;
    chunksWritten: number;
    chunksEmbedded: number;
    chunksDeleted: number;
    tokens: number;
  };
  errors: { path: string; error: string }[];
  index: { digest: string; documents: number; chunks: number };
  ms: { total: number | null };
}

/** What the ledger holds about one run: its plan (absent when it never planned), batches, outcome. */
export interface RunLedger {
  plan?: PlanData;
  batches: BatchData[];
  run: RunData;
}

export interface Tolerance {
  /** Fraction of the recorded latency (0.05 = ±5 %). */
  latency: number;
  /** Differences up to this many ms always pass. */
  floorMs: number;
}

export interface LatencyCheck {
  step: string;
  recordedMs: number;
  replayedMs: number;
  within: boolean;
}

export interface EventDiff {
  verdict: Verdict;
  /** Why, one line each; empty for a pass. */
  reasons: string[];
  /** Documents whose outcome, chunks or plan differ (named, sorted, at most 200). */
  documents: string[];
  latency: LatencyCheck[];
}

const MAX_NAMED = 200;

function documentsOf(ledger: RunLedger): Map<string, BatchDocumentData> {
  const docs = new Map<string, BatchDocumentData>();
  for (const batch of ledger.batches) for (const doc of batch.documents) docs.set(doc.path, doc);
  return docs;
}

function sameList(a: string[] | undefined, b: string[] | undefined): boolean {
  const x = [...(a ?? [])].sort();
  const y = [...(b ?? [])].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

function withinTolerance(recorded: number, replayed: number, tolerance: Tolerance): boolean {
  return Math.abs(replayed - recorded) <= Math.max(tolerance.floorMs, recorded * tolerance.latency);
}

function stepLatencies(ledger: RunLedger): Record<string, number> {
  const sum = (pick: (b: BatchData) => number) =>
    ledger.batches.reduce((total, b) => total + pick(b), 0);
  return {
    plan: ledger.plan?.ms ?? 0,
    "batch.read": sum((b) => b.ms.read),
    "batch.embed": sum((b) => b.ms.embed),
    "batch.write": sum((b) => b.ms.write),
    total: ledger.run.ms.total ?? 0,
  };
}

export function diffRun(recorded: RunLedger, replayed: RunLedger, tolerance: Tolerance): EventDiff {
  const critical: string[] = [];
  const drift: string[] = [];
  const affected = new Set<string>();

  if (recorded.run.status !== replayed.run.status)
    critical.push(`the run ended ${replayed.run.status}; recorded ${recorded.run.status}`);

  // Decisions: the planned set, then each document's outcome and reason.
  const plannedOf = (l: RunLedger) =>
    new Map((l.plan?.planned ?? []).map(([path, action]) => [path, action]));
  const planA = plannedOf(recorded);
  const planB = plannedOf(replayed);
  let planDiffers = 0;
  for (const path of new Set([...planA.keys(), ...planB.keys()])) {
    if (planA.get(path) !== planB.get(path)) {
      planDiffers++;
      affected.add(path);
    }
  }
  if (planDiffers > 0)
    critical.push(
      `the plan differs for ${planDiffers} document(s): ${planB.size} planned, recorded ${planA.size}`,
    );
  if ((recorded.plan?.mode ?? null) !== (replayed.plan?.mode ?? null))
    drift.push(
      `planned as ${replayed.plan?.mode ?? "nothing"}; recorded ${recorded.plan?.mode ?? "nothing"}`,
    );
  const skipsA = JSON.stringify(sortedObject(recorded.plan?.skippedByReason ?? {}));
  const skipsB = JSON.stringify(sortedObject(replayed.plan?.skippedByReason ?? {}));
  if (skipsA !== skipsB) drift.push(`files skipped while planning: ${skipsB}; recorded ${skipsA}`);

  const docsA = documentsOf(recorded);
  const docsB = documentsOf(replayed);
  let outcomeDiffers = 0;
  let chunksDiffer = 0;
  let reasonsDiffer = 0;
  let errorsDiffer = 0;
  for (const path of new Set([...docsA.keys(), ...docsB.keys()])) {
    const a = docsA.get(path);
    const b = docsB.get(path);
    if (!a || !b || a.status !== b.status) {
      outcomeDiffers++;
      affected.add(path);
      continue;
    }
    if (a.contentHash !== b.contentHash || !sameList(a.chunks, b.chunks)) {
      chunksDiffer++;
      affected.add(path);
    }
    if ((a.reason ?? null) !== (b.reason ?? null)) reasonsDiffer++;
    if ((a.error ?? null) !== (b.error ?? null)) errorsDiffer++;
  }
  if (outcomeDiffers > 0)
    critical.push(`${outcomeDiffers} document(s) ended differently (done, skipped or failed)`);
  if (chunksDiffer > 0) critical.push(`${chunksDiffer} document(s) were chunked differently`);
  if (reasonsDiffer > 0) drift.push(`${reasonsDiffer} document(s) were skipped for another reason`);
  if (errorsDiffer > 0) drift.push(`${errorsDiffer} document(s) failed with another message`);

  // The index: exact.
  if (recorded.run.index.digest !== replayed.run.index.digest)
    critical.push(
      `the index digest differs (${replayed.run.index.documents} documents / ${replayed.run.index.chunks} chunks; recorded ${recorded.run.index.documents} / ${recorded.run.index.chunks})${affected.size === 0 ? ": documents indexed before this run differ" : ""}`,
    );

  // Counts: documents are decisions (critical); chunk and embedding work may differ (reuse).
  const a = recorded.run.counts;
  const b = replayed.run.counts;
  for (const key of ["processed", "skipped", "failed", "deleted"] as const)
    if (a[key] !== b[key]) critical.push(`${key}: ${b[key]}, recorded ${a[key]}`);
  for (const key of ["chunksWritten", "chunksEmbedded", "chunksDeleted", "tokens"] as const)
    if (a[key] !== b[key]) drift.push(`${key}: ${b[key]}, recorded ${a[key]}`);
  if (recorded.run.errors.length !== replayed.run.errors.length)
    critical.push(`errors: ${replayed.run.errors.length}, recorded ${recorded.run.errors.length}`);

  // Latency, per step.
  const latA = stepLatencies(recorded);
  const latB = stepLatencies(replayed);
  const latency: LatencyCheck[] = Object.keys(latA).map((step) => {
    const recordedMs = Math.round((latA[step] ?? 0) * 10) / 10;
    const replayedMs = Math.round((latB[step] ?? 0) * 10) / 10;
    return {
      step,
      recordedMs,
      replayedMs,
      within: withinTolerance(recordedMs, replayedMs, tolerance),
    };
  });
  const slow = latency.filter((l) => !l.within);
  if (slow.length > 0)
    drift.push(
      `latency outside ±${Math.round(tolerance.latency * 100)} % / ${tolerance.floorMs} ms: ${slow
        .map((l) => `${l.step} ${l.replayedMs} ms (recorded ${l.recordedMs} ms)`)
        .join(", ")}`,
    );

  const verdict: Verdict = critical.length > 0 ? "critical" : drift.length > 0 ? "drift" : "pass";
  return {
    verdict,
    reasons: [...critical, ...drift],
    documents: [...affected].sort().slice(0, MAX_NAMED),
    latency,
  };
}

function sortedObject(value: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(value).sort(([x], [y]) => (x < y ? -1 : 1)));
}
