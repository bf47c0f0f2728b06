import { describe, expect, it } from "vitest";
import { parseGolden } from "../../lib/eval/golden";
import { queryMetrics } from "../../lib/eval/metrics";
import {
  chunkLexemes,
  headingTerms,
  pathTerms,
  queryTerms,
  saturationLabel,
  terms,
} from "../../lib/index/lexical";

describe("lexical terms", () => {
  it("splits identifiers into stemmed parts and keeps multi-part words whole", () => {
    expect(terms("parseJsonConfig").map((t) => t.term)).toEqual([
      "pars",
      "json",
      "config",
      "parsejsonconfig",
    ]);
    expect(terms("parse_json_config").map((t) => t.term)).toEqual([
      "pars",
      "json",
      "config",
      "parsejsonconfig",
    ]);
    expect(terms("HTTPServer retries").map((t) => t.term)).toEqual([
      "http",
      "server",
      "httpserver",
      "retri",
    ]);
    // stop words and one-letter parts are dropped
    expect(queryTerms("how does the retry work for a x")).toEqual(["retri", "work"]);
  });

  it("path and heading terms", () => {
    expect(pathTerms("lib/websocket-server.js")).toEqual([
      "lib",
      "websocket",
      "server",
      "websocketserver",
    ]);
    expect(headingTerms("class Sender > method frame")).toEqual(["sender", "frame"]);
    expect(headingTerms(null)).toEqual([]);
  });

  it("labels term frequency with BM25 saturation, normalised by length", () => {
    expect(saturationLabel(1, 160)).toBe("C");
    expect(saturationLabel(2, 160)).toBe("B");
    expect(saturationLabel(8, 160)).toBe("A");
    expect(saturationLabel(1, 600)).toBe("D"); // one mention in a long chunk counts less
  });

  it("builds a tsvector literal with body, path and symbol lexemes, quoting safely", () => {
    const lex = chunkLexemes("retry retry it's", "src/o'brien.ts", "function retry");
    expect(lex.lexemes).toEqual(["retri", "p:src", "p:brien", "p:obrien", "h:retri"]);
    expect(lex.tsvector).toContain("'retri':1A"); // twice in a two-term chunk: saturated
    expect(lex.length).toBe(2);
  });
});

describe("eval metrics and golden files", () => {
  it("recall@k, MRR@10 and nDCG@10 by file", () => {
    const m = queryMetrics(["a", "x", "a", "b", "y", "z"], ["a", "b"], 3);
    expect(m.recallAtK).toBe(0.5); // b is 4th
    expect(m.recallAt5).toBe(1);
    expect(m.mrrAt10).toBe(1);
    const ideal = 1 + 1 / Math.log2(3);
    expect(m.ndcgAt10).toBeCloseTo((1 + 1 / Math.log2(5)) / ideal, 6); // a at 1, b at 4; the second a counts nothing
    expect(queryMetrics(["x", "y"], ["a"], 10)).toEqual({
      recallAt5: 0,
      recallAtK: 0,
      mrrAt10: 0,
      ndcgAt10: 0,
    });
  });

  it("rejects malformed golden sets with the problem named", () => {
    expect(() => parseGolden("{")).toThrow(/not valid JSON/);
    expect(() => parseGolden(JSON.stringify({ name: "a b", questions: [] }))).toThrow(
      /not a golden set/,
    );
    expect(() =>
      parseGolden(
        JSON.stringify({
          name: "a",
          questions: [
            { id: "1", question: "q", expected: ["x"] },
            { id: "1", question: "r", expected: ["y"] },
          ],
        }),
      ),
    ).toThrow(/appears twice/);
    expect(() =>
      parseGolden(
        JSON.stringify({
          name: "a",
          source: { kind: "npm", package: "../etc", version: "1" },
          questions: [{ id: "1", question: "q", expected: ["x"] }],
        }),
      ),
    ).toThrow(/not a golden set/);
  });
});
