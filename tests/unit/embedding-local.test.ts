import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createEmbeddingProvider, LOCAL_MODEL, LocalHashEmbedder } from "../../lib/embedding";
import { ValidationError } from "../../lib/errors";

function local(dimensions = 256, batchSize = 96) {
  return createEmbeddingProvider({
    provider: "local",
    model: LOCAL_MODEL,
    dimensions,
    batchSize,
    openai: { baseUrl: "https://api.openai.com/v1" },
    cohere: { baseUrl: "https://api.cohere.com" },
  });
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

function cosine(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s / (norm(a) * norm(b));
}

function sha256(v: Float32Array): string {
  return createHash("sha256")
    .update(Buffer.from(v.buffer, v.byteOffset, v.byteLength))
    .digest("hex");
}

const SAMPLES = [
  "export function parseJsonConfig(path: string) { return JSON.parse(readFileSync(path)); }",
  "The quick brown fox jumps over the lazy dog.",
  "def load_settings(file_name):\n    with open(file_name) as f:\n        return yaml.safe_load(f)",
  "Grüße aus Köln — ünïcödé текст 日本語のテキスト 🚀 emoji",
  "x",
  "a the of and is",
  "HTTPServerError IOError getHTTPResponseCode utf8Decoder __init__",
];

describe("local embedder (ballast-hash-v1)", () => {
  it("describes its embedding space", () => {
    const e = local(256);
    expect(e.provider).toBe("local");
    expect(e.model).toBe("ballast-hash-v1");
    expect(e.dimensions).toBe(256);
    expect(e.space).toBe("local:ballast-hash-v1:256");
  });

  it.each([8, 100, 256, 1536, 2000])("answers unit vectors of %i dimensions", async (dims) => {
    const e = local(dims);
    const { vectors, usage } = await e.embedDocuments(SAMPLES);
    expect(vectors).toHaveLength(SAMPLES.length);
    for (const v of vectors) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(dims);
      expect(v.every(Number.isFinite)).toBe(true);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(usage.costUsd).toBe(0);
    expect(usage.requests).toBe(0);
    expect(usage.retries).toBe(0);
  });

  it("gives empty, whitespace and feature-less texts one valid unit vector, never NaN", async () => {
    const e = local(64);
    const blanks = ["", "   ", "\n\t\r\n", "a", "the of and", "!!! ??? ..."];
    const { vectors } = await e.embedDocuments(blanks);
    for (const v of vectors) {
      expect(v.some(Number.isNaN)).toBe(false);
      expect(norm(v)).toBeCloseTo(1, 6);
      expect(sha256(v)).toBe(sha256(vectors[0] as Float32Array));
    }
    const real = await e.embedQuery("parse config");
    expect(cosine(real, vectors[0] as Float32Array)).toBeLessThan(0.5);
  });

  it("is deterministic: same text, same bits, across instances and calls", async () => {
    const a = local(256);
    const b = new LocalHashEmbedder(256);
    const first = await a.embedDocuments(SAMPLES);
    // Something large in between (grows and clears the shared feature table).
    const big = Array.from({ length: 60_000 }, (_, i) => `identifier${i}Value`).join(" ");
    await b.embedQuery(big);
    const second = await b.embedDocuments(SAMPLES);
    for (let i = 0; i < SAMPLES.length; i++) {
      expect(sha256(second.vectors[i] as Float32Array)).toBe(
        sha256(first.vectors[i] as Float32Array),
      );
    }
    expect(sha256(await a.embedQuery(big))).toBe(sha256(await b.embedQuery(big)));
  });

  it("matches golden vectors, so a change to the algorithm cannot go unnoticed", async () => {
    // If this fails on purpose, the embedding space changed: bump the model name (stored
    // vectors of ballast-hash-v1 would no longer be comparable with new ones).
    const e = local(256);
    const v = await e.embedQuery(SAMPLES[0] as string);
    expect(sha256(v)).toBe("020cca2145a9f6d2987077234a36984c20fa49bb552ee7586442bd3c10c75128");
    const w = await local(64).embedQuery("");
    expect(sha256(w)).toBe("14e606cbc57275ba6e2d73e467aefdd15f51ddd7dd345813f62ea7e5c79cada6");
  });

  it("splits identifiers and keeps them whole, whatever the naming convention", async () => {
    const e = local(512);
    const camel = await e.embedQuery("parseJsonConfig");
    const snake = await e.embedQuery("parse_json_config");
    const prose = await e.embedQuery("parse json config");
    const other = await e.embedQuery("renderHtmlTemplate");
    expect(cosine(camel, snake)).toBeCloseTo(1, 6);
    expect(cosine(camel, prose)).toBeGreaterThan(0.8);
    expect(cosine(camel, prose)).toBeLessThan(0.999);
    expect(Math.abs(cosine(camel, other))).toBeLessThan(0.3);
    // Case-insensitive.
    expect(sha256(await e.embedQuery("PARSE JSON CONFIG"))).toBe(sha256(prose));
    // Acronyms: HTTPServer → http server.
    expect(
      cosine(await e.embedQuery("HTTPServer"), await e.embedQuery("http server")),
    ).toBeGreaterThan(0.8);
  });

  it("ranks a chunk about JSON config parsing first for 'parse json config'", async () => {
    const e = local(256);
    const chunks = [
      `import express from "express";
const app = express();
app.get("/health", (req, res) => res.send("ok"));
app.listen(3000, () => console.log("server listening on port 3000"));`,
      `.button { color: white; background: #0070f3; border-radius: 4px; }
.button:hover { background: #0059c1; }`,
      `/**
 * Reads the JSON config file and parses it into a Config object.
 * Throws ConfigError when the file is not valid JSON.
 */
export function parseConfigFile(path: string): Config {
  const text = readFileSync(path, "utf8");
  return configSchema.parse(JSON.parse(text));
}`,
      `# Release notes
Version 2.1 improves the performance of the image resizing pipeline and fixes a memory leak.`,
      `def train_model(data, epochs=10):
    model = Sequential()
    model.fit(data, epochs=epochs)
    return model`,
    ];
    const { vectors } = await e.embedDocuments(chunks);
    const query = await e.embedQuery("parse json config");
    const scores = vectors.map((v) => cosine(query, v));
    const best = scores.indexOf(Math.max(...scores));
    expect(best).toBe(2);
    const sorted = [...scores].sort((a, b) => b - a);
    expect((sorted[0] ?? 0) - (sorted[1] ?? 0)).toBeGreaterThan(0.1);
  });

  it("counts its own tokens, and usage adds them up at no cost", async () => {
    const e = local();
    expect(e.countTokens("parseJsonConfig foo_bar")).toBe(5); // parse json config foo bar
    expect(e.countTokens("HTTPServer a")).toBe(3); // http server a
    expect(e.countTokens("")).toBe(0);
    expect(e.countTokens("  \n ")).toBe(0);
    const { usage } = await e.embedDocuments(SAMPLES);
    expect(usage.tokens).toBe(SAMPLES.reduce((sum, t) => sum + e.countTokens(t), 0));
    expect(usage.tokens).toBeGreaterThan(0);
    expect(e.costUsd(1_000_000)).toBe(0);
  });

  it("embeds many texts, keeping order, across its internal batches", async () => {
    const e = local(32, 7);
    const texts = Array.from({ length: 50 }, (_, i) => `document number ${i} about topic${i % 5}`);
    const { vectors } = await e.embedDocuments(texts);
    expect(vectors).toHaveLength(50);
    for (let i = 0; i < texts.length; i++) {
      expect(sha256(vectors[i] as Float32Array)).toBe(
        sha256(await e.embedQuery(texts[i] as string)),
      );
    }
  });

  it("stops when the signal is aborted", async () => {
    const e = local();
    const controller = new AbortController();
    controller.abort(new Error("stop"));
    await expect(e.embedDocuments(["a b c"], { signal: controller.signal })).rejects.toThrow(
      "stop",
    );
    await expect(e.embedQuery("a b c", { signal: controller.signal })).rejects.toThrow("stop");
  });

  it("rejects options it cannot honour", () => {
    const base = {
      provider: "local" as const,
      model: LOCAL_MODEL,
      dimensions: 256,
      batchSize: 96,
      openai: { baseUrl: "https://api.openai.com/v1" },
      cohere: { baseUrl: "https://api.cohere.com" },
    };
    expect(() => createEmbeddingProvider({ ...base, model: "text-embedding-3-small" })).toThrow(
      ValidationError,
    );
    expect(() => createEmbeddingProvider({ ...base, dimensions: 0 })).toThrow(/dimensions/);
    expect(() => createEmbeddingProvider({ ...base, dimensions: 1.5 })).toThrow(/dimensions/);
    expect(() => createEmbeddingProvider({ ...base, batchSize: 0 })).toThrow(/batchSize/);
  });
});
