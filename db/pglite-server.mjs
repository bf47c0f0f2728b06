// The embedded database server: PGlite (Postgres + pgvector in WebAssembly) in a worker
// thread, served over the Postgres wire protocol on a Unix socket. The app opens it this way
// so that long statements (an HNSW index build) never block its event loop, and so that the
// CLI can use the same data directory while the app runs (it connects through the socket).
//
// PGlite has one session. Several connections share it safely because a connection owns the
// session from its first message until PGlite answers ReadyForQuery with status idle: a
// transaction, or an extended-protocol sequence up to its Sync, is never interleaved with
// another connection's messages. A connection that closes mid-transaction is rolled back.
// NOTIFY messages go to the connections that LISTEN on their channel.
//
// Plain JavaScript on purpose: a worker thread loads it by path, under `next start`, `next
// dev`, tsx and vitest alike.
import { mkdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { parentPort, workerData } from "node:worker_threads";

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** A connection holding the session without sending anything for this long is closed. */
const IDLE_OWNER_MS = workerData.idleOwnerMs ?? 60_000;

const { PGlite } = await import("@electric-sql/pglite");
const { vector } = await import("@electric-sql/pglite-pgvector");

// The same settings as an in-process database (db/pglite.ts sends them).
const options = {
  extensions: { vector },
  startParams: [...PGlite.defaultStartParams, ...(workerData.settings ?? [])],
};
const db =
  workerData.dataDir === "memory://"
    ? await PGlite.create(options)
    : await PGlite.create(workerData.dataDir, options);

/** The session lock: one owner at a time, FIFO waiters. */
let owner = null;
const waiters = [];
/** When PGlite last started or finished a call (the watchdog's idea of activity). */
let lastActivity = Date.now();
let busy = false;

function acquire(conn) {
  if (owner === conn) return Promise.resolve();
  if (owner === null) {
    owner = conn;
    lastActivity = Date.now();
    return Promise.resolve();
  }
  return new Promise((resolve) => waiters.push({ conn, resolve }));
}

function release(conn) {
  if (owner !== conn) return;
  owner = null;
  while (waiters.length > 0) {
    const next = waiters.shift();
    if (next.conn.closed) continue;
    owner = next.conn;
    lastActivity = Date.now();
    next.resolve();
    return;
  }
}

/** One PGlite call at a time (the session lock orders connections; this orders calls). */
let chain = Promise.resolve();
function exclusive(fn) {
  const run = async () => {
    busy = true;
    lastActivity = Date.now();
    try {
      return await fn();
    } finally {
      busy = false;
      lastActivity = Date.now();
    }
  };
  const result = chain.then(run, run);
  chain = result.catch(() => {});
  return result;
}

const connections = new Set();

/** Splits backend output into messages: type byte + int32 length (which counts itself). */
function* backendMessages(bytes) {
  let offset = 0;
  while (offset + 5 <= bytes.length) {
    const length = bytes.readInt32BE(offset + 1);
    const end = offset + 1 + length;
    if (end > bytes.length) break;
    yield { type: String.fromCharCode(bytes[offset]), start: offset, end };
    offset = end;
  }
}

/** The channel of a NotificationResponse: 'A', int32 length, int32 pid, channel\0, payload\0. */
function notificationChannel(buffer, start) {
  const from = start + 9;
  return buffer.toString("utf8", from, buffer.indexOf(0, from));
}

/** A simple-protocol COPY reading from the client (the statement's `FROM STDIN` part). */
const COPY_FROM_STDIN = /^\s*copy\s[\s\S]*\sfrom\s+stdin\b/i;
const FROM_STDIN = /\sfrom\s+stdin\b/i;

/** A simple Query message. */
function queryMessage(text) {
  const body = Buffer.from(`${text}\0`);
  const head = Buffer.alloc(5);
  head.write("Q", 0);
  head.writeInt32BE(body.length + 4, 1);
  return new Uint8Array(Buffer.concat([head, body]));
}

const LISTEN = /^\s*(UN)?LISTEN\s+("?)([A-Za-z_][A-Za-z0-9_]*|\*)\2\s*;?\s*$/i;

function errorResponse(message) {
  const fields = Buffer.concat([
    Buffer.from("SERROR\0C08006\0M"),
    Buffer.from(message),
    Buffer.from("\0\0"),
  ]);
  const head = Buffer.alloc(5);
  head.write("E", 0);
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

class Connection {
  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.started = false;
    this.closed = false;
    this.channels = new Set();
    /** An unfinished COPY FROM STDIN: its statement and the data received so far. */
    this.copyIn = null;
    this.queue = Promise.resolve();
    socket.setNoDelay(true);
    socket.on("data", (chunk) => this.onData(chunk));
    socket.on("error", () => this.close());
    socket.on("close", () => this.close());
  }

  onData(chunk) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const message = this.nextMessage();
      if (!message) break;
      this.queue = this.queue.then(() => this.handle(message)).catch(() => this.close());
    }
  }

  nextMessage() {
    if (!this.started) {
      if (this.buffer.length < 8) return null;
      const length = this.buffer.readInt32BE(0);
      if (this.buffer.length < length) return null;
      const message = this.buffer.subarray(0, length);
      this.buffer = this.buffer.subarray(length);
      return { startup: true, bytes: message };
    }
    if (this.buffer.length < 5) return null;
    const length = this.buffer.readInt32BE(1);
    if (this.buffer.length < 1 + length) return null;
    const message = this.buffer.subarray(0, 1 + length);
    this.buffer = this.buffer.subarray(1 + length);
    return { startup: false, bytes: message };
  }

  async handle({ startup, bytes }) {
    if (this.closed) return;
    if (this.copyIn) return this.copyMessage(bytes);
    if (startup) {
      const code = bytes.readInt32BE(4);
      if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        this.socket.write("N");
        return;
      }
      if (code === CANCEL_REQUEST) {
        this.close();
        return;
      }
      this.started = true;
    } else if (bytes[0] === 0x58 /* X: Terminate */) {
      this.close();
      return;
    }
    if (!startup && bytes[0] === 0x51 /* Q */) {
      const text = bytes.toString("utf8", 5, bytes.length - 1);
      const match = LISTEN.exec(text);
      if (match) {
        if (match[1]) {
          if (match[3] === "*") this.channels.clear();
          else this.channels.delete(match[3]);
        } else this.channels.add(match[3]);
      }
      if (COPY_FROM_STDIN.test(text)) return this.startCopyIn(text);
    }
    await acquire(this);
    if (this.closed) return release(this);
    await this.run(new Uint8Array(bytes));
  }

  /**
   * Runs protocol messages through PGlite (with `blob` readable as /dev/blob for their
   * duration) and forwards its answer; the session is released when PGlite is idle again.
   */
  async run(bytes, blob) {
    const parts = [];
    try {
      await exclusive(async () => {
        if (blob) await db._handleBlob(blob);
        try {
          await db.execProtocolRawStream(bytes, {
            onRawData: (data) => parts.push(Buffer.from(data)),
          });
        } finally {
          if (blob) await db._cleanupBlob();
        }
      });
    } catch (error) {
      this.socket.write(errorResponse(`embedded database error: ${error?.message ?? error}`));
      this.close();
      return;
    }
    const output = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    let idle = false;
    let sawReady = false;
    const keep = [];
    for (const m of backendMessages(output)) {
      if (m.type === "A") {
        const channel = notificationChannel(output, m.start);
        const copy = output.subarray(m.start, m.end);
        for (const conn of connections)
          if (conn.channels.has(channel) && !conn.closed) {
            if (conn === this) keep.push(copy);
            else conn.socket.write(copy);
          }
        continue;
      }
      if (m.type === "Z") {
        sawReady = true;
        idle = output[m.start + 5] === 0x49; /* 'I' */
      }
      keep.push(output.subarray(m.start, m.end));
    }
    if (keep.length > 0 && !this.socket.destroyed) this.socket.write(Buffer.concat(keep));
    if (sawReady && idle) release(this);
  }

  /**
   * COPY … FROM STDIN, which PGlite cannot take over the protocol: this connection keeps the
   * session, answers CopyInResponse, gathers the CopyData, and on CopyDone runs the same
   * statement reading FROM '/dev/blob', whose answer (COPY n, or the error) goes back as is.
   */
  async startCopyIn(text) {
    await acquire(this);
    if (this.closed) return release(this);
    this.copyIn = { statement: text.replace(FROM_STDIN, " from '/dev/blob'"), parts: [] };
    const response = Buffer.alloc(8);
    response.write("G", 0);
    response.writeInt32BE(7, 1);
    response.writeInt8(/\bbinary\b/i.test(text) ? 1 : 0, 5); // overall format
    response.writeInt16BE(0, 6); // no per-column formats
    this.socket.write(response);
  }

  async copyMessage(bytes) {
    const type = bytes[0];
    if (type === 0x64 /* d: CopyData */) {
      this.copyIn.parts.push(bytes.subarray(5));
      return;
    }
    if (type === 0x48 /* H */ || type === 0x53 /* S */) return; // ignored during COPY IN
    const { statement, parts } = this.copyIn;
    this.copyIn = null;
    if (type === 0x63 /* c: CopyDone */) return this.run(queryMessage(statement), new Blob(parts));
    // CopyFail, or a message COPY IN does not allow: the statement fails as Postgres fails it
    // (in a transaction, which is then aborted), by raising the error in the session.
    const reason =
      type === 0x66 /* f */
        ? bytes.toString("utf8", 5, bytes.length - 1)
        : `unexpected message type '${String.fromCharCode(type)}' during COPY from stdin`;
    const message = `COPY from stdin failed: ${reason}`.replace(/[$\0]/g, "").replace(/'/g, "''");
    return this.run(
      queryMessage(
        `do $$begin raise exception using errcode = '57014', message = '${message}'; end$$`,
      ),
    );
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    connections.delete(this);
    this.socket.destroy();
    if (owner === this) {
      // Roll back whatever this connection left open, then hand the session on.
      exclusive(async () => {
        if (db.isInTransaction()) await db.exec("ROLLBACK");
      })
        .catch(() => {})
        .finally(() => release(this));
    }
  }
}

const socketDir = workerData.socketDir;
mkdirSync(socketDir, { recursive: true, mode: 0o700 });
const socketPath = path.join(socketDir, ".s.PGSQL.5432");
rmSync(socketPath, { force: true });
const server = createServer((socket) => {
  const conn = new Connection(socket);
  connections.add(conn);
});
await new Promise((resolve, reject) => {
  server.once("error", reject);
  server.listen(socketPath, resolve);
});

const watchdog = setInterval(() => {
  if (owner && !busy && Date.now() - lastActivity > IDLE_OWNER_MS) {
    // A connection sat on the session (a transaction left open): close it so others proceed.
    const stuck = owner;
    stuck.socket.write(errorResponse("closed: held the embedded database idle for too long"));
    stuck.close();
  }
}, 5000);
watchdog.unref();

parentPort.on("message", async (message) => {
  if (message?.type !== "close") return;
  clearInterval(watchdog);
  for (const conn of connections) conn.close();
  await new Promise((resolve) => server.close(() => resolve()));
  rmSync(socketPath, { force: true });
  await chain.catch(() => {});
  await db.close();
  parentPort.postMessage({ type: "closed" });
});

parentPort.postMessage({ type: "ready", socketDir });
