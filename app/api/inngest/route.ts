import { handler } from "../../../inngest/serve";

export const dynamic = "force-dynamic";
export const { GET, POST, PUT } = handler;
