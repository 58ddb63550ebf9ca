import { afterAll, beforeAll } from 'vitest';
import { localSecretVariable } from '../../functions/adapters/secrets.ts';
import { forwarding, makeLine, startTestStack, type TestStack } from './stack.ts';

/** The name the manifests of the tests give the tenant's Slack webhook secret (`${SLACK_WEBHOOK}`). */
const SLACK_SECRET_NAME = 'SLACK_WEBHOOK';

/**
 * The test stack a manifest test file shares (started before its tests, stopped after them), whose every new
 * tenant has its Slack webhook secret. Locally a `${NAME}` reference is the tenant's environment variable
 * STAGELINE_SECRET_<TENANT>__<NAME> (Secrets Manager stageline/<tenant>/<purpose>/<NAME> on AWS).
 */
export function useManifestStack(): TestStack {
  let t: TestStack | undefined;
  beforeAll(async () => {
    t = await startTestStack();
    const mint = t.tenant.bind(t);
    t.tenant = () => {
      const id = mint();
      process.env[localSecretVariable(id, 'slack-webhook', SLACK_SECRET_NAME)!] = 'https://hooks.slack.com/services/T000/B000/XXXXSECRET';
      return id;
    };
  });
  afterAll(() => t?.stop());
  return forwarding(() => t, 'the test stack');
}

/** A fresh tenant with its users and the line dev → staging → production. */
export async function tenantWithLine(t: TestStack) {
  const id = t.tenant();
  const u = await t.users(id);
  await makeLine(t, u.admin);
  return { id, u };
}

/** Seed 003's manifest.yaml: the gates block as the seed writes it, and its notifications/verification settings. */
export const SEED_003 = `# manifest.yaml
artifacts:
  promotion:
    gates:
      dev:
        policy_compliance: true     # MANDATORY
        tests: false                # Optional
        security_scan: false        # Optional

      staging:
        policy_compliance: true     # MANDATORY
        tests: true                 # Run integration tests
        security_scan: true         # CVE scan + cosign verify
        cost_analysis: false        # Optional

      production:
        policy_compliance: true     # MANDATORY
        tests: true                 # Full test suite
        security_scan: true         # CVE scan + cosign verify
        cost_analysis: true         # Estimate infrastructure cost
        performance_baseline: true  # Compare against SLO

    notifications:
      slack:
        webhook: \${SLACK_WEBHOOK}
        channels: ["#platform-ops"]
      email:
        recipients: ["ops@acme.com"]

    cross_registry_sync: true
    verification: digest_match
`;
