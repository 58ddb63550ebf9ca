import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './registry.ts';

/**
 * A real Prometheus server on loopback for tests: Debian's `prometheus` (scripts/prereqs.sh prometheus;
 * PROMETHEUS_BIN overrides the path), a temp config scraping the given targets every second and a temp
 * storage dir, ready once `/-/ready` answers 200; stop() ends it and removes both.
 */
export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN || '/usr/bin/prometheus';

export interface LocalPrometheus {
  url: string;
  stop(): Promise<void>;
}

export const prometheusInstalled = () => existsSync(PROMETHEUS_BIN);

/** A scrape job of its own: a `host:port` target, the path it serves metrics at, the bearer credentials it is scraped with. */
export interface ScrapeJob {
  name: string;
  target: string;
  metricsPath: string;
  credentials?: string;
}

/** `scrape`: `host:port` targets whose /metrics are scraped every second (job `stageline-test`); `jobs`: more, each with its path and credentials. */
export async function startPrometheus(scrape: string[], jobs: ScrapeJob[] = []): Promise<LocalPrometheus> {
  if (!prometheusInstalled()) {
    throw new Error(`${PROMETHEUS_BIN} not found: install Prometheus with \`bash scripts/prereqs.sh prometheus\` (Debian: apt-get install -y prometheus)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'stageline-prometheus-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  await writeFile(
    join(dir, 'prometheus.yml'),
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: stageline-test
    scrape_interval: 1s
    scrape_timeout: 900ms
    static_configs:
      - targets: [${scrape.map((s) => JSON.stringify(s)).join(', ')}]
${jobs
  .map(
    (j) => `  - job_name: ${JSON.stringify(j.name)}
    scrape_interval: 1s
    scrape_timeout: 900ms
    metrics_path: ${JSON.stringify(j.metricsPath)}
${j.credentials ? `    authorization:\n      type: Bearer\n      credentials: ${JSON.stringify(j.credentials)}\n` : ''}    static_configs:
      - targets: [${JSON.stringify(j.target)}]
`,
  )
  .join('')}`,
  );
  const child = spawn(
    PROMETHEUS_BIN,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  let exited = false;
  const exit = once(child, 'exit').then(() => (exited = true));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await exit;
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`prometheus exited before serving (${url}): ${stderr.trim() || 'no output'}`);
    }
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) }).then(
      async (r) => (await r.arrayBuffer(), r.status === 200),
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url} within 30 s: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, stop };
}
