import { randomBytes } from "node:crypto";
import webhookDefinitions from "@octokit/webhooks-examples";
import { signGitHubPayload } from "../../lib/webhooks/github-signature";
import { Random } from "../corpus/random";

/**
 * Push deliveries as GitHub sends them, for the load run: the body is GitHub's own published
 * push example (@octokit/webhooks-examples: repository, owner, pusher, sender, head_commit,
 * commits — about 7-9 KB) with the repository, branch, shas and commits filled in per
 * delivery, a unique X-GitHub-Delivery, and the X-Hub-Signature-256 of the exact bytes.
 *
 * The mix (see docs/capacity.md): an organisation's webhook or GitHub App receives every push
 * to every repository and branch, and Ballast tracks the default branch of some of them. So a
 * share of deliveries (`trackedShare`, default 10 %) are pushes to the tracked branch of a
 * tracked repository — each creates a sync run and an outbox event that the app's runner
 * executes — and the rest are stored and ignored: half pushes to other branches of tracked
 * repositories, half pushes to repositories no source tracks.
 */
export interface PushMix {
  /** Tracked repositories ("owner/name"), whose `main` branch sources track. */
  tracked: string[];
  /** The commit the tracked repositories' main points at (pushes name it as `after`). */
  trackedHead: string;
  /** Share of deliveries that are pushes to a tracked branch, 0-1. */
  trackedShare: number;
  seed: string;
}

export interface Delivery {
  id: string;
  tracked: boolean;
  body: string;
  headers: Record<string, string>;
}

type Json = Record<string, unknown>;

function pushTemplate(): Json {
  const definition = webhookDefinitions.find((d) => d.name === "push");
  const examples = (definition?.examples ?? []) as unknown as Json[];
  const branchPush = examples.find(
    (e) =>
      typeof e.ref === "string" &&
      e.ref.startsWith("refs/heads/") &&
      Array.isArray(e.commits) &&
      e.commits.length > 0,
  );
  if (!branchPush) throw new Error("@octokit/webhooks-examples has no branch push example");
  return branchPush;
}

const sha = () => randomBytes(20).toString("hex");

const FILES = [
  "src/index.ts",
  "src/server/routes.ts",
  "lib/config/schema.ts",
  "docs/guide.md",
  "README.md",
  "pkg/store/store.go",
  "app/models/user.py",
  "tests/integration/api.test.ts",
];

export class PushDeliveries {
  private readonly template = pushTemplate();
  private readonly random: Random;
  private counter = 0;
  private readonly prefix: string;

  constructor(
    private readonly mix: PushMix,
    private readonly secret: string,
    /** Unique per run: delivery ids never repeat across runs on the same database. */
    runId: string,
  ) {
    this.random = new Random(`${mix.seed}:pushes`);
    this.prefix = `load-${runId}`;
  }

  /** The next delivery: unique id, realistic body, signature over its bytes. */
  next(): Delivery {
    const n = this.counter++;
    const id = `${this.prefix}-${n}`;
    const tracked = this.random.next() < this.mix.trackedShare;
    let fullName: string;
    let branch: string;
    if (tracked) {
      fullName = this.mix.tracked[n % this.mix.tracked.length] as string;
      branch = "main";
    } else if (this.random.next() < 0.5) {
      fullName = this.mix.tracked[this.random.int(0, this.mix.tracked.length - 1)] as string;
      branch = `feature/change-${this.random.int(1, 500)}`;
    } else {
      fullName = `load-untracked/service-${this.random.int(1, 200)}`;
      branch = "main";
    }
    const [owner, name] = fullName.split("/") as [string, string];
    const after = tracked ? this.mix.trackedHead : sha();
    const body = structuredClone(this.template) as Json;
    const repository = body.repository as Json;
    const templateCommit = (body.commits as Json[])[0] as Json;
    const commitCount = this.random.int(1, 3);
    const commits = Array.from({ length: commitCount }, (_, i) => {
      const id = i === commitCount - 1 ? after : sha();
      return {
        ...templateCommit,
        id,
        tree_id: sha(),
        message: `load ${n}: change ${i + 1} of ${commitCount}`,
        timestamp: new Date().toISOString(),
        url: `https://github.com/${fullName}/commit/${id}`,
        added: [],
        removed: [],
        modified: [FILES[(n + i) % FILES.length]],
      };
    });
    Object.assign(body, {
      ref: `refs/heads/${branch}`,
      before: sha(),
      after,
      created: false,
      deleted: false,
      forced: false,
      compare: `https://github.com/${fullName}/compare/${id}`,
      commits,
      head_commit: commits[commits.length - 1],
    });
    Object.assign(repository, {
      name,
      full_name: fullName,
      default_branch: "main",
      master_branch: "main",
      html_url: `https://github.com/${fullName}`,
      url: `https://github.com/${fullName}`,
    });
    Object.assign(repository.owner as Json, { login: owner, name: owner });
    const text = JSON.stringify(body);
    return {
      id,
      tracked,
      body: text,
      headers: {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/load",
        "x-github-event": "push",
        "x-github-delivery": id,
        "x-github-hook-id": "109948940",
        "x-hub-signature-256": signGitHubPayload(this.secret, text),
      },
    };
  }
}
