import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after } from 'node:test';
import { tempDir } from './helpers.js';

/** Where Debian puts nats-server (/usr/sbin is not on every PATH), else the PATH's. */
function natsServerPath(): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')]) {
    const candidate = path.join(dir, 'nats-server');
    if (dir !== '' && fs.existsSync(candidate)) return candidate;
  }
  throw new Error('nats-server is not installed: run `apt-get install -y nats-server` (.ci/run does)');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A real `nats-server -js` for one test file, on a free loopback port with a temporary store; stopped
 * after the tests. `config` is a server configuration file's text (users, TLS), if any.
 */
export class NatsServer {
  readonly store = tempDir('mmm-nats-store-');
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly configFile: string | undefined,
  ) {}

  static async start(config?: string): Promise<NatsServer> {
    const port = await freePort();
    let configFile: string | undefined;
    if (config !== undefined) {
      configFile = path.join(tempDir('mmm-nats-conf-'), 'server.conf');
      fs.writeFileSync(configFile, config);
    }
    const server = new NatsServer(port, configFile);
    after(() => server.stop());
    await server.run();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, on the same port and store) and resolves once it takes connections. */
  async run(): Promise<void> {
    const args = ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.store];
    if (this.configFile !== undefined) args.push('-c', this.configFile);
    const child = spawn(natsServerPath(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let log = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-4000)));
    const deadline = Date.now() + 15_000;
    while (!/Server is ready/.test(log)) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`nats-server did not start (exit ${String(child.exitCode)}): ${log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Stops the server (SIGTERM, as a restart would) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.run();
  }
}
