import { githubCallbackResponse } from "../../../../lib/http/console-auth";

export const dynamic = "force-dynamic";
/** GitHub's redirect back after sign-in. */
export const GET = githubCallbackResponse;
