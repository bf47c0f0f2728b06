import { z } from "zod";
import { approveChannel } from "../../../../../../../lib/alerts/notify";
import { adminRoute } from "../../../../../../../lib/http/admin";
import { json } from "../../../../../../../lib/http/respond";

export const dynamic = "force-dynamic";

const channelId = z.enum(["slack", "webhook", "email"], {
  message: "channel must be slack, webhook or email",
});

/** Approves a notification channel as configured now and releases what it held (admin). */
export const POST = adminRoute<{ channel: string }>(
  { role: "admin", action: "alerts.channel.approve", target: (p) => p.channel },
  async ({ runtime, params, key }) => {
    const channel = channelId.parse(params.channel);
    return json(await approveChannel(runtime.db, runtime.config.monitoring, channel, key.name));
  },
);
