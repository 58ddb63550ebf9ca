import { afterEach, describe, expect, it } from 'vitest';
import { defaultProvider } from '../../functions/adapters/lambda-credentials.ts';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('the credential chain the Lambda bundles use (alias of @aws-sdk/credential-provider-node)', () => {
  it("reads the execution role's credentials from the environment, as Lambda provides them", async () => {
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'session' });
    await expect(defaultProvider({})()).resolves.toMatchObject({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'session' });
  });

  it('fails (rather than searching files, SSO or IMDS) when the environment has none', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    await expect(defaultProvider({})()).rejects.toThrow(/environment/i);
  });
});
