import { expect } from "vitest";
import { UnavailableError } from "../../lib/errors";

/** A secret of every kind the issue names, planted where a careless envelope would keep it. */
export const PLANTED = {
  configured: "planted-configured-secret-value-0001",
  githubToken: "ghp_plantedGithubTokenForTraces00000000001",
  openaiKey: "sk-plantedOpenAIKeyForTraces000000000001",
  password: "Pl4ntedPassw0rd!x",
  bearer: "plantedBearerTokenValue0000000001",
  email: "jane.planted@example.org",
  awsKey: "AKIAPLANTEDKEY000001",
};

export function plantedError(): Error {
  return new UnavailableError(
    `upstream failed for ${PLANTED.email}: Authorization: Bearer ${PLANTED.bearer}; ` +
      `fetch https://x:${PLANTED.password}@git.example.com/r.git with ${PLANTED.githubToken}, ` +
      `key ${PLANTED.openaiKey} / ${PLANTED.awsKey} / password=${PLANTED.password} / ${PLANTED.configured}`,
  );
}

export function expectNoPlanted(text: string): void {
  for (const [kind, value] of Object.entries(PLANTED))
    expect(text.includes(value), `${kind} survived: ${value}`).toBe(false);
}
