import { generateKeyPairSync } from 'node:crypto';
import type { SecretPurpose } from '#domain/kernel/ports';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { startGitServer, type GitServer } from './git-server.ts';
import { startGitHubStandin, type GitHubStandin } from './github-standin.ts';
import { startGitLabStandin, type GitLabStandin } from './gitlab-standin.ts';
import { startTestStack, type TestStack } from './stack.ts';

/** A secret every new tenant of the stack has, as the local stack reads it: its purpose, its name, its value. */
export type TenantSecret = readonly [purpose: SecretPurpose, name: string, value: string];

/** A test stack beside a real git server and the stand-ins of GitHub and GitLab serving its repositories. */
export interface GitHosts {
  t: TestStack;
  g: GitServer;
  gh: GitHubStandin;
  gl: GitLabStandin;
  stop(): Promise<void>;
}

/**
 * Starts a test stack, a git server taking pushes with `pushToken`, and the GitHub and GitLab stand-ins over it; every
 * tenant the stack makes from then on has `secrets` (the tenant's secrets are environment variables locally).
 */
export async function startGitHosts(pushToken: string, secrets: readonly TenantSecret[]): Promise<GitHosts> {
  const started: { stop(): Promise<void> }[] = [];
  const keep = <T extends object>(x: T, stop: (x: T) => Promise<void>): T => (started.unshift({ stop: () => stop(x) }), x);
  const stop = async () => {
    for (const s of started.splice(0)) await s.stop();
  };
  try {
    const t = keep(await startTestStack(), (x) => x.stop());
    const g = keep(await startGitServer(pushToken), (x) => x.close());
    const gh = keep(await startGitHubStandin(g), (x) => x.stop());
    const gl = keep(await startGitLabStandin(g), (x) => x.stop());
    const mint = t.tenant.bind(t);
    t.tenant = () => {
      const id = mint();
      for (const [purpose, name, value] of secrets) process.env[localSecretVariable(id, purpose, name)!] = value;
      return id;
    };
    return { t, g, gh, gl, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A GitHub App's key pair: the private key as GitHub hands it out (PKCS#1 PEM), the public key (SPKI PEM) its JWTs verify with. */
export function appKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
