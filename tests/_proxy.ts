// A TCP proxy in front of the PostgreSQL server that injects network faults
// on command: cut a connection with FIN or RST, or stall it (a partition:
// nothing is forwarded either way, both sockets stay open), right away or at
// the moment the client sends a chosen statement; and delay every chunk, to
// make round trips count. It reads the client side of the PostgreSQL
// protocol (the startup packet, then typed messages) to see the SQL text of
// simple queries ('Q') and Parse messages ('P'). node:net only, so it works
// on Node, Deno and Bun; close() destroys every socket it holds.
//
//   const proxy = await startFaultProxy(db.url);
//   const stall = proxy.arm({ fault: "stall", on: /^commit/i, forward: "after" });
//   const sql = postgres(proxy.url, { max: 1 });
//   …
//   await proxy.close();
import { connect, createServer, type Socket } from "node:net";

/** What a fault does to a connection. */
export type Fault =
  /** Ends both sides with FIN (`socket.end()`): each peer sees an orderly close. */
  | "fin"
  /** Aborts both sides with RST (`socket.resetAndDestroy()`): each peer sees ECONNRESET. */
  | "rst"
  /** Forwards nothing more either way, keeps reading and buffering, keeps both sockets open. */
  | "stall";

/** A fault to arm, and when it fires. */
export interface FaultSpec {
  fault: Fault;
  /**
   * When it fires: `"connect"` as a client connects (before anything is
   * forwarded; on {@link ProxyConnection.arm}, at once), or a RegExp tested
   * against the SQL text of every simple Query ('Q') and Parse ('P') message
   * the client sends. Default `"connect"`.
   */
  on?: "connect" | RegExp;
  /**
   * With a RegExp: `"before"` forwards what the client sent ahead of the
   * matching message, and not the message nor anything after it (a stall
   * buffers it; the server never sees it until resume()); `"after"` forwards
   * the whole chunk the message ended in first (a client writes a statement's
   * Parse/Bind/Execute/Sync together, so the server runs it), then acts.
   * Default `"before"`.
   */
  forward?: "before" | "after";
  /** How many times it fires, over all connections it applies to, before it disarms itself. Default 1. */
  times?: number;
}

/** An armed fault. */
export interface ArmedFault {
  /** Resolves with the connection, the first time it fires. */
  readonly fired: Promise<ProxyConnection>;
  /** How many times it has fired. */
  readonly count: number;
  /** Keeps it from firing again. */
  disarm(): void;
}

/** A message the client sent: its type byte (or `startup`, `ssl`, `gss`, `cancel`), and the SQL of 'Q' and 'P'. */
export interface ClientMessage {
  type: string;
  sql?: string;
}

/** Where a connection stands. */
export type ConnectionState = "open" | "stalled" | "closed";

/** One client connection through the proxy, and its server connection. */
export interface ProxyConnection {
  /** 1, 2, … in the order the proxy accepted them. */
  readonly id: number;
  readonly state: ConnectionState;
  /** Every message the client sent, in order (until it negotiated TLS, if it did). */
  readonly messages: readonly ClientMessage[];
  /** How many times the client sent after the server had sent (or first): its round trips. */
  readonly clientTurns: number;
  /** Bytes forwarded so far, each way. */
  readonly bytes: { readonly toServer: number; readonly toClient: number };
  /** Cuts it now with FIN on both sides. */
  fin(): void;
  /** Cuts it now with RST on both sides. */
  rst(): void;
  /** Stalls it now. */
  stall(): void;
  /** Ends a stall: forwards what was buffered, then carries on (and passes on a close that happened meanwhile). */
  resume(): void;
  /** Arms a fault on this connection only. */
  arm(spec: FaultSpec): ArmedFault;
  /** Resolves when both of its sockets are closed. */
  readonly closed: Promise<void>;
}

/** Per-direction delay of every chunk, in ms. */
export interface Delay {
  toServer?: number;
  toClient?: number;
}

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  /** Delays every chunk by this many ms (each way, or per direction). Default 0. */
  delayMs?: number | Delay;
}

/** A running proxy. */
export interface FaultProxy {
  /** The target URL with the proxy's host and port. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Every connection accepted so far, closed ones included, in order. */
  readonly connections: readonly ProxyConnection[];
  /** Client turns over all connections. */
  readonly clientTurns: number;
  /** Resolves with the next connection the proxy accepts. */
  nextConnection(): Promise<ProxyConnection>;
  /** Arms a fault on every connection, open ones and later ones. */
  arm(spec: FaultSpec): ArmedFault;
  /** Sets the delay of chunks forwarded from now on (a number: both ways). */
  setDelay(ms: number | Delay): void;
  /** Destroys every socket and the listener, and stops every timer. Idempotent. */
  close(): Promise<void>;
}

const END = Symbol("end");

interface Item {
  at: number;
  seq: number;
  data: Uint8Array | typeof END;
  done?: () => void;
}

// One direction: a FIFO delay line feeding a hold queue that a stall (or a
// server connection not connected yet) keeps closed. A stall holds what is
// pushed after it; what was pushed before is still delivered.
class Pipe {
  bytes = 0;
  private line: Item[] = [];
  private held: Item[] = [];
  private seq = 0;
  private stallFrom = Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private dead = false;

  constructor(private readonly dest: Socket, private readonly delay: () => number, private ready: boolean) {}

  push(data: Uint8Array | typeof END, done?: () => void): void {
    if (this.dead) return;
    this.line.push({ at: performance.now() + this.delay(), seq: this.seq++, data, done });
    this.pump();
  }

  stall(): void {
    this.stallFrom = Math.min(this.stallFrom, this.seq);
  }

  resume(): void {
    this.stallFrom = Infinity;
    this.flush();
  }

  connected(): void {
    this.ready = true;
    this.flush();
  }

  kill(): void {
    this.dead = true;
    this.line = [];
    this.held = [];
    clearTimeout(this.timer);
  }

  private pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.line.length > 0 && this.line[0].at <= performance.now()) {
      this.held.push(this.line.shift()!);
    }
    this.flush();
    if (this.line.length > 0) {
      this.timer = setTimeout(() => this.pump(), Math.max(0, this.line[0].at - performance.now()));
    }
  }

  private flush(): void {
    while (!this.dead && this.ready && this.held.length > 0 && this.held[0].seq < this.stallFrom) {
      const { data, done } = this.held.shift()!;
      if (this.dest.destroyed) {
        done?.();
        continue;
      }
      if (data === END) {
        this.dest.end(done);
      } else {
        this.bytes += data.length;
        this.dest.write(data, done);
      }
    }
  }
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

interface Parsed {
  message: ClientMessage;
  /** Offset in the chunk where the message starts (negative: in an earlier chunk). */
  start: number;
}

// The client side of the protocol: untyped startup-phase packets (length,
// code), then typed messages (type byte, length). Only 'Q' and 'P' bodies
// are kept (for their SQL); other bodies are skipped unread.
class ClientParser {
  /** Set once the client negotiated TLS or GSS encryption: nothing more is readable. */
  opaque = false;
  /** The single byte the server answers an SSLRequest or GSSENCRequest with is awaited. */
  awaitingEncryptionAnswer = false;
  private startup = true;
  private header: number[] = [];
  private body: Uint8Array[] | null = null;
  private remaining = 0;
  private position = 0; // stream offset of the next byte
  private messageStart = 0;
  private type = "";

  feed(chunk: Uint8Array): Parsed[] {
    const out: Parsed[] = [];
    const chunkStart = this.position;
    let i = 0;
    while (i < chunk.length && !this.opaque) {
      if (this.remaining === 0) {
        // Reading a header: 8 bytes in the startup phase, else 5.
        if (this.header.length === 0) this.messageStart = this.position + i;
        this.header.push(chunk[i++]);
        const size = this.startup ? 8 : 5;
        if (this.header.length < size) continue;
        const h = Uint8Array.from(this.header);
        this.header = [];
        const view = new DataView(h.buffer);
        if (this.startup) {
          const length = view.getInt32(0);
          const code = view.getInt32(4);
          this.type = code === SSL_REQUEST ? "ssl" : code === GSSENC_REQUEST ? "gss" : code === CANCEL_REQUEST ? "cancel" : "startup";
          if (this.type === "ssl" || this.type === "gss") this.awaitingEncryptionAnswer = true;
          if (this.type === "startup") this.startup = false;
          this.remaining = Math.max(0, length - 8);
          this.body = null;
        } else {
          this.type = String.fromCharCode(h[0]);
          this.remaining = Math.max(0, view.getInt32(1) - 4);
          this.body = this.type === "Q" || this.type === "P" ? [] : null;
        }
      } else {
        const n = Math.min(this.remaining, chunk.length - i);
        if (this.body) this.body.push(new Uint8Array(chunk.subarray(i, i + n))); // a copy
        this.remaining -= n;
        i += n;
      }
      if (this.remaining === 0 && this.header.length === 0) {
        out.push({ message: this.finish(), start: this.messageStart - chunkStart });
        // Nothing may follow an SSLRequest before the server's answer but a
        // TLS handshake: unreadable.
        if (this.awaitingEncryptionAnswer && i < chunk.length) this.opaque = true;
      }
    }
    this.position += chunk.length;
    return out;
  }

  /** The server's answer to SSLRequest/GSSENCRequest: 'S' or 'G' (encryption follows) or 'N'. */
  answered(byte: number): void {
    this.awaitingEncryptionAnswer = false;
    if (byte !== 0x4e /* N */) this.opaque = true;
  }

  private finish(): ClientMessage {
    const message: ClientMessage = { type: this.type };
    if (this.body !== null) {
      const all = new Uint8Array(this.body.reduce((n, b) => n + b.length, 0));
      let o = 0;
      for (const b of this.body) {
        all.set(b, o);
        o += b.length;
      }
      // Q: query\0. P: statement name\0, query\0, parameter types.
      let from = 0;
      if (this.type === "P") from = all.indexOf(0) + 1;
      const to = all.indexOf(0, from);
      message.sql = new TextDecoder().decode(all.subarray(from, to < 0 ? all.length : to));
    }
    this.body = null;
    return message;
  }
}

class Armed implements ArmedFault {
  count = 0;
  readonly fired: Promise<ProxyConnection>;
  private resolve!: (c: ProxyConnection) => void;
  private left: number;

  constructor(readonly spec: FaultSpec) {
    this.left = spec.times ?? 1;
    this.fired = new Promise((r) => (this.resolve = r));
  }

  get active(): boolean {
    return this.left > 0;
  }

  matches(sql: string | undefined): boolean {
    return this.active && this.spec.on instanceof RegExp && sql !== undefined &&
      new RegExp(this.spec.on.source, this.spec.on.flags).test(sql);
  }

  fire(conn: ProxyConnection): void {
    this.left--;
    this.count++;
    this.resolve(conn);
  }

  disarm(): void {
    this.left = 0;
  }
}

function resetOrDestroy(socket: Socket): void {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === "function") socket.resetAndDestroy();
  else socket.destroy();
}

class Connection implements ProxyConnection {
  state: ConnectionState = "open";
  readonly messages: ClientMessage[] = [];
  clientTurns = 0;
  readonly closed: Promise<void>;
  private readonly server: Socket | null;
  private readonly toServer: Pipe | null;
  private readonly toClient: Pipe;
  private readonly armed: Armed[] = [];
  private readonly parser = new ClientParser();
  private lastFrom: "client" | "server" | null = null;
  // A close of one side that happened during a stall, passed on at resume().
  private pending: { from: "client" | "server"; reset: boolean } | null = null;
  // A cut waiting for what it lets through to be written.
  private finishCut: (() => void) | null = null;

  constructor(
    readonly id: number,
    private readonly client: Socket,
    target: { host: string; port: number },
    private readonly proxyArmed: () => Armed[],
    delay: () => Delay,
    connectFault: Fault | null,
  ) {
    let clientClosed = false;
    let serverClosed = true;
    let closedResolve!: () => void;
    this.closed = new Promise((r) => (closedResolve = r));
    const check = () => {
      if (clientClosed && serverClosed) {
        if (this.state !== "closed") this.state = "closed";
        closedResolve();
      }
    };
    client.on("close", () => {
      clientClosed = true;
      check();
    });
    this.toClient = new Pipe(client, () => delay().toClient ?? 0, true);
    if (connectFault === "fin" || connectFault === "rst") {
      // Cut as it connects: no server connection at all.
      this.server = null;
      this.toServer = null;
      this.state = "closed";
      client.on("error", () => {});
      if (connectFault === "fin") client.end();
      else resetOrDestroy(client);
      return;
    }
    serverClosed = false;
    const server = connect({ host: target.host, port: target.port });
    this.server = server;
    this.toServer = new Pipe(server, () => delay().toServer ?? 0, false);
    server.on("connect", () => this.toServer!.connected());
    server.on("close", () => {
      serverClosed = true;
      check();
    });
    if (connectFault === "stall") this.stall();

    client.on("data", (chunk: Uint8Array) => this.fromClient(chunk));
    server.on("data", (chunk: Uint8Array) => this.fromServer(chunk));
    // An orderly end passes on in order, after what came before it.
    client.on("end", () => this.peerEnded("client"));
    server.on("end", () => this.peerEnded("server"));
    // An abort (RST, or a failed connect to the server) passes on as an abort.
    client.on("error", () => this.peerAborted("client"));
    server.on("error", () => this.peerAborted("server"));
  }

  get bytes() {
    return { toServer: this.toServer?.bytes ?? 0, toClient: this.toClient.bytes };
  }

  fin(): void {
    this.cut("fin");
  }

  rst(): void {
    this.cut("rst");
  }

  stall(): void {
    if (this.state !== "open") return;
    this.state = "stalled";
    this.toServer?.stall();
    this.toClient.stall();
  }

  resume(): void {
    if (this.state !== "stalled") return;
    this.state = "open";
    this.toServer?.resume();
    this.toClient.resume();
    const pending = this.pending;
    this.pending = null;
    if (pending?.reset) this.peerAborted(pending.from);
    else if (pending) this.peerEnded(pending.from);
  }

  arm(spec: FaultSpec): ArmedFault {
    const armed = new Armed(spec);
    if (!(spec.on instanceof RegExp)) {
      armed.fire(this);
      this.act(spec.fault);
    } else {
      this.armed.push(armed);
    }
    return armed;
  }

  /** Destroys both sockets at once (the proxy is closing). */
  destroy(): void {
    this.state = "closed";
    this.toServer?.kill();
    this.toClient.kill();
    this.client.destroy();
    this.server?.destroy();
  }

  private act(fault: Fault): void {
    if (fault === "stall") this.stall();
    else this.cut(fault);
  }

  private cut(how: "fin" | "rst", through?: Uint8Array): void {
    if (this.state === "closed") return;
    const stalled = this.state === "stalled";
    this.state = "closed";
    this.toClient.kill();
    let done = false;
    this.finishCut = () => {
      if (done) return;
      done = true;
      this.toServer?.kill();
      for (const socket of [this.client, this.server]) {
        if (socket === null) continue;
        socket.on("error", () => {});
        if (how === "fin") socket.end();
        else resetOrDestroy(socket);
      }
    };
    // What the trigger lets through reaches the server first (unless stalled:
    // then nothing more does).
    if (through !== undefined && through.length > 0 && this.toServer && !stalled) this.toServer.push(through, this.finishCut);
    else this.finishCut();
  }

  private fromClient(chunk: Uint8Array): void {
    if (this.state === "closed") return;
    if (this.lastFrom !== "client") this.clientTurns++;
    this.lastFrom = "client";
    let fired: { armed: Armed; start: number } | null = null;
    if (!this.parser.opaque) {
      for (const { message, start } of this.parser.feed(chunk)) {
        this.messages.push(message);
        if (fired !== null) continue;
        const armed = [...this.armed, ...this.proxyArmed()].find((a) => a.matches(message.sql));
        if (armed === undefined) continue;
        armed.fire(this);
        fired = { armed, start };
      }
    }
    if (fired === null) {
      this.toServer!.push(chunk);
      return;
    }
    const { fault, forward } = fired.armed.spec;
    const at = forward === "after" ? chunk.length : Math.max(0, fired.start);
    if (fault === "stall") {
      this.toServer!.push(chunk.subarray(0, at));
      this.stall();
      this.toServer!.push(chunk.subarray(at));
    } else {
      this.cut(fault, chunk.subarray(0, at));
    }
  }

  private fromServer(chunk: Uint8Array): void {
    if (this.state === "closed") return;
    if (this.parser.awaitingEncryptionAnswer && chunk.length > 0) this.parser.answered(chunk[0]);
    this.lastFrom = "server";
    this.toClient.push(chunk);
  }

  private peerEnded(from: "client" | "server"): void {
    if (this.state === "closed") return void this.finishCut?.();
    if (this.state === "stalled") {
      this.pending ??= { from, reset: false };
      return;
    }
    (from === "client" ? this.toServer : this.toClient)?.push(END);
  }

  private peerAborted(from: "client" | "server"): void {
    if (this.state === "closed") return void this.finishCut?.();
    if (this.state === "stalled") {
      this.pending = { from, reset: true };
      return;
    }
    this.state = "closed";
    this.toServer?.kill();
    this.toClient.kill();
    const other = from === "client" ? this.server : this.client;
    if (other) {
      other.on("error", () => {});
      resetOrDestroy(other);
    }
  }
}

/** Starts a proxy on 127.0.0.1 (a free port) in front of the server `targetUrl` names. */
export async function startFaultProxy(targetUrl: string, options: FaultProxyOptions = {}): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const targetAddress = { host: target.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1", port: Number(target.port || 5432) };
  const connections: Connection[] = [];
  const armed: Armed[] = [];
  const waiters: { resolve: (c: ProxyConnection) => void; reject: (e: Error) => void }[] = [];
  const toDelay = (ms: number | Delay): Delay => (typeof ms === "number" ? { toServer: ms, toClient: ms } : { ...ms });
  let delay = toDelay(options.delayMs ?? 0);
  let closing: Promise<void> | null = null;

  const listener = createServer((client) => {
    if (closing) {
      client.destroy();
      return;
    }
    const connectFault = armed.find((a) => a.active && !(a.spec.on instanceof RegExp));
    const conn = new Connection(
      connections.length + 1,
      client,
      targetAddress,
      () => armed.filter((a) => a.active),
      () => delay,
      connectFault?.spec.fault ?? null,
    );
    connectFault?.fire(conn);
    connections.push(conn);
    for (const w of waiters.splice(0)) w.resolve(conn);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (listener.address() as { port: number }).port;
  const url = new URL(targetUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);

  return {
    url: url.toString(),
    host: "127.0.0.1",
    port,
    connections,
    get clientTurns() {
      return connections.reduce((n, c) => n + c.clientTurns, 0);
    },
    nextConnection() {
      if (closing) return Promise.reject(new Error("the fault proxy is closed"));
      return new Promise((resolve, reject) => waiters.push({ resolve, reject }));
    },
    arm(spec) {
      const a = new Armed(spec);
      armed.push(a);
      return a;
    },
    setDelay(ms) {
      delay = toDelay(ms);
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const w of waiters.splice(0)) w.reject(new Error("the fault proxy closed"));
        for (const a of armed) a.disarm();
        listener.close(() => resolve());
        for (const c of connections) c.destroy();
      });
      return closing;
    },
  };
}
