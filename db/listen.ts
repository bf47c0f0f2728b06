/**
 * LISTEN/NOTIFY over a dedicated connection: one connection per database handle, opened on the
 * first subscription, carrying every channel. Channel names are identifiers we choose (checked),
 * never user input.
 */
interface NotifyingClient {
  query(text: string): Promise<unknown>;
  on(
    event: "notification",
    listener: (message: { channel: string; payload?: string }) => void,
  ): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  release?(destroy?: boolean): void;
  end?(): Promise<void>;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

export function assertChannel(channel: string): void {
  if (!CHANNEL.test(channel)) throw new Error(`invalid LISTEN channel ${JSON.stringify(channel)}`);
}

export function pgListener(connect: () => Promise<NotifyingClient>) {
  let client: Promise<NotifyingClient> | undefined;
  const subscribers = new Map<string, Set<(payload: string) => void>>();

  const open = () => {
    client ??= connect().then((c) => {
      c.on("notification", (message) => {
        for (const callback of subscribers.get(message.channel) ?? [])
          callback(message.payload ?? "");
      });
      c.on("error", () => {
        // The connection broke: the next subscription reconnects; current ones end.
        client = undefined;
      });
      return c;
    });
    return client;
  };

  return {
    async listen(channel: string, onPayload: (payload: string) => void) {
      assertChannel(channel);
      const c = await open();
      let set = subscribers.get(channel);
      if (!set) {
        set = new Set();
        subscribers.set(channel, set);
        await c.query(`LISTEN ${channel}`);
      }
      set.add(onPayload);
      return async () => {
        const current = subscribers.get(channel);
        current?.delete(onPayload);
        if (current && current.size === 0) {
          subscribers.delete(channel);
          await c.query(`UNLISTEN ${channel}`).catch(() => {});
        }
      };
    },
    async close() {
      const c = await client?.catch(() => undefined);
      client = undefined;
      subscribers.clear();
      if (!c) return;
      if (c.release) c.release(true);
      else await c.end?.();
    },
  };
}
