import { keyLoginResponse } from "../../../lib/http/console-auth";

export const dynamic = "force-dynamic";
/** Exchanges an API key (form field `key`) for a console session. */
export const POST = keyLoginResponse;
