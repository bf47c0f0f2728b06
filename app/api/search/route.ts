import { searchResponse } from "../../../lib/http/search";

export const dynamic = "force-dynamic";
export const GET = searchResponse;
