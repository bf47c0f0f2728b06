import { githubStartResponse } from "../../../lib/http/console-auth";

export const dynamic = "force-dynamic";
/** Starts "Sign in with GitHub". */
export const GET = githubStartResponse;
