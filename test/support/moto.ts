import { spawn } from 'node:child_process';
import { freePort } from './registry.ts';

/** A moto_server (an AWS-protocol server) the tests run against, and how to stop it. */
export interface Moto {
  endpoint: string;
  stop(): void;
}

/**
 * Starts moto_server on 127.0.0.1:<free port> and resolves once its API answers (within 60 s); a machine without it
 * is told how to install it.
 */
export async function startMoto(): Promise<Moto> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const stop = () => void moto.kill('SIGTERM');
  const failed = new Promise<never>((_, reject) =>
    moto.once('error', (e) => reject(new Error(`moto_server did not start (${e.message}): pip install 'moto[server]' (scripts/prereqs.sh moto)`))),
  );
  const up = (async () => {
    for (let i = 0; i < 600; i++) {
      const ok = await fetch(`${endpoint}/moto-api/`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('moto_server did not answer within 60 s');
  })();
  try {
    await Promise.race([up, failed]);
  } catch (err) {
    stop();
    throw err;
  }
  return { endpoint, stop };
}
