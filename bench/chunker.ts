import { RecursiveCharacterTextSplitter } from "@langchain/textsplitters";
import { type ChunkOptions, chunkDocument } from "../lib/chunking";

/**
 * Ballast's chunker against LangChain's RecursiveCharacterTextSplitter (default separators)
 * on the same texts, with the same chunk size and overlap: repetitions interleaved, after a
 * warm-up of both, median time per pass over the whole corpus.
 */

export interface ChunkerSide {
  medianMs: number;
  runsMs: number[];
  mbPerSecond: number;
  chunks: number;
  meanChunkChars: number;
  maxChunkChars: number;
  /** Chunks longer than the configured size. */
  oversized: number;
}

export interface ChunkerComparison {
  files: number;
  megabytes: number;
  size: number;
  overlap: number;
  repetitions: number;
  ballast: ChunkerSide;
  langchain: ChunkerSide;
  /** ballast MB/s ÷ langchain MB/s. */
  speedRatio: number;
}

interface Pass {
  ms: number;
  lengths: number[];
}

function runBallast(files: { path: string; text: string }[], options: ChunkOptions): Pass {
  const lengths: number[] = [];
  const started = performance.now();
  for (const file of files)
    for (const chunk of chunkDocument(file.path, file.text, options))
      lengths.push(chunk.content.length);
  return { ms: performance.now() - started, lengths };
}

async function runLangchain(
  files: { path: string; text: string }[],
  options: ChunkOptions,
): Promise<Pass> {
  const splitter = new RecursiveCharacterTextSplitter({
    chunkSize: options.size,
    chunkOverlap: options.overlap,
  });
  const lengths: number[] = [];
  const started = performance.now();
  for (const file of files)
    for (const chunk of await splitter.splitText(file.text)) lengths.push(chunk.length);
  return { ms: performance.now() - started, lengths };
}

function side(passes: Pass[], bytes: number, size: number): ChunkerSide {
  const runsMs = passes.map((p) => Math.round(p.ms));
  const sorted = [...runsMs].sort((a, b) => a - b);
  const medianMs = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const lengths = passes[0]?.lengths ?? [];
  return {
    medianMs,
    runsMs,
    mbPerSecond: Math.round((bytes / 1e6 / (medianMs / 1000)) * 100) / 100,
    chunks: lengths.length,
    meanChunkChars: Math.round(lengths.reduce((a, b) => a + b, 0) / Math.max(1, lengths.length)),
    maxChunkChars: lengths.reduce((a, b) => Math.max(a, b), 0),
    oversized: lengths.filter((l) => l > size).length,
  };
}

export async function compareChunkers(
  files: { path: string; text: string }[],
  options: ChunkOptions,
  repetitions = 3,
  onStatus: (message: string) => void = () => {},
): Promise<ChunkerComparison> {
  const bytes = files.reduce((n, f) => n + Buffer.byteLength(f.text), 0);
  const warm = files.slice(0, Math.min(500, files.length));
  runBallast(warm, options);
  await runLangchain(warm, options);
  const ours: Pass[] = [];
  const theirs: Pass[] = [];
  for (let i = 0; i < repetitions; i++) {
    onStatus(`chunker pass ${i + 1}/${repetitions}: ballast`);
    ours.push(runBallast(files, options));
    onStatus(`chunker pass ${i + 1}/${repetitions}: langchain`);
    theirs.push(await runLangchain(files, options));
  }
  const ballast = side(ours, bytes, options.size);
  const langchain = side(theirs, bytes, options.size);
  return {
    files: files.length,
    megabytes: Math.round((bytes / 1e6) * 100) / 100,
    size: options.size,
    overlap: options.overlap,
    repetitions,
    ballast,
    langchain,
    speedRatio:
      Math.round((ballast.mbPerSecond / Math.max(1e-9, langchain.mbPerSecond)) * 100) / 100,
  };
}
