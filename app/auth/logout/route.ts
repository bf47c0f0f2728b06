import { logoutResponse } from "../../../lib/http/console-auth";

export const dynamic = "force-dynamic";
/** Ends the console session. */
export const POST = logoutResponse;
