/**
 * Runs as a child process: filters hostile file names through hostile globs with the real
 * path filter and prints the verdicts as JSON. The test bounds it from outside, so a
 * backtracking engine that never returns fails the test instead of hanging the run.
 */
import { createPathFilter } from "../../lib/sources/filter";

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
});
process.stdin.on("end", () => {
  const { include, exclude, paths } = JSON.parse(input) as {
    include: string[];
    exclude: string[];
    paths: string[];
  };
  const filter = createPathFilter({ include, exclude, maxFileBytes: 1024 * 1024 });
  process.stdout.write(JSON.stringify(paths.map((p) => filter(p, 1))));
});
