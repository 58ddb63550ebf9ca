import { randomBytes } from 'node:crypto';
import { OciRegistrySync } from '../functions/adapters/oci/sync.ts';
import { overrideConfig } from '../functions/configuration-overrides.ts';
import { table } from '../scripts/build.ts';
import { pushImage, startRegistry, type LocalRegistry } from '../test/support/registry.ts';

// The bench's registries run on loopback: allowed only by the explicit local-mode setting.
overrideConfig({ STAGELINE_ALLOW_LOOPBACK_OUTBOUND: 'true' });

/**
 * `npm run bench`, registry section (REQ-337): time to promote a ~50 MB
 * artifact (one 50 MB layer) across registries — sync by digest from one
 * local CNCF distribution registry to two others, verifying digest_match.
 * Cold: median of RUNS syncs, each into fresh target repositories (every blob
 * uploaded); warm: the same sync again (blobs present, manifests re-PUT and
 * verified). Loopback, so this is the adapter's and the registry's overhead,
 * not network bandwidth. Needs `apt-get install -y docker-registry`.
 */
const RUNS = 3;
const LAYER_MB = 50;
const MB = 1024 * 1024;

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function benchRegistry(): Promise<void> {
  const title = `Cross-registry promotion: ${LAYER_MB} MB artifact, 1 source → 2 target registries (median of ${RUNS})`;
  console.log(`\n${title}\n${'='.repeat(title.length)}`);

  const registries: LocalRegistry[] = await Promise.all(['src', 'target-1', 'target-2'].map((name) => startRegistry({ name })));
  const [source, ...targets] = registries as [LocalRegistry, LocalRegistry, LocalRegistry];
  try {
    const image = { configBytes: Buffer.from('{"architecture":"amd64","os":"linux"}'), layers: [randomBytes(LAYER_MB * MB)] };
    const artifactBytes = image.configBytes.length + image.layers[0]!.length;
    const sync = new OciRegistrySync();

    const timed = async (repository: string, digest: string) => {
      // Peak RSS growth during the sync: blobs are streamed, so it should stay well below the layer size.
      const rss0 = process.memoryUsage().rss;
      let peak = rss0;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const t0 = performance.now();
      const results = await sync.sync({ tenant: 'acme', repository, digest, source, targets });
      const ms = performance.now() - t0;
      clearInterval(sampler);
      const failed = results.filter((r) => !r.ok);
      if (failed.length) throw new Error(`sync failed: ${failed.map((r) => r.reason).join('; ')}`);
      return { ms, bytes: results.reduce((n, r) => n + r.bytesCopied, 0), rssMB: (Math.max(peak, process.memoryUsage().rss) - rss0) / MB };
    };

    const cold: Awaited<ReturnType<typeof timed>>[] = [];
    let last = { repository: '', digest: '' };
    for (let i = 0; i < RUNS; i++) {
      // A fresh repository per run: registries link blobs per repository, so targets must upload everything again.
      const repository = `bench/cold-${i}`;
      const digest = await pushImage(source, repository, image);
      cold.push(await timed(repository, digest));
      last = { repository, digest };
    }
    const warm: Awaited<ReturnType<typeof timed>>[] = [];
    for (let i = 0; i < RUNS; i++) warm.push(await timed(last.repository, last.digest));

    const row = (label: string, runs: typeof cold) => {
      const ms = median(runs.map((r) => r.ms));
      const bytes = runs[0]!.bytes;
      return [
        label,
        `${ms.toFixed(0)} ms`,
        `${runs.map((r) => r.ms.toFixed(0)).join(' / ')}`,
        `${(bytes / MB).toFixed(1)} MB`,
        bytes ? `${(bytes / MB / (ms / 1000)).toFixed(1)}` : '—',
        `${(artifactBytes / MB / (ms / 1000)).toFixed(1)}`,
        `${Math.max(...runs.map((r) => r.rssMB)).toFixed(0)} MB`,
      ];
    };
    console.log(
      table(
        ['sync', 'median', 'runs ms', 'uploaded', 'upload MB/s', 'artifact MB/s', 'peak RSS +'],
        [row('cold (fresh target repos)', cold), row('warm (blobs present)', warm)],
      ),
    );
    console.log(
      `\nupload MB/s = blob bytes uploaded to both targets per second; artifact MB/s = ${(artifactBytes / MB).toFixed(1)} MB promoted per second (to all targets).` +
        `\nTargets are synced concurrently; each blob streams source → target (hashed on the way), never buffered whole.`,
    );
  } finally {
    await Promise.all(registries.map((r) => r.stop()));
  }
}
