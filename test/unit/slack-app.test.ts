import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { slackSigningSecret } from '../../functions/adapters/slack-app.ts';

describe("the deployment's Slack signing secret", () => {
  it('on Lambda comes only from the Secrets Manager secret CDK names (never from a local variable), read once and cached', async () => {
    // On Lambda without the context: no Slack app, even if the local variable is somehow set.
    expect(await slackSigningSecret({ AWS_LAMBDA_FUNCTION_NAME: 'f', STAGELINE_SLACK_SIGNING_SECRET: 'local' })).toBeNull();
    // Locally (npm start): the generated one.
    expect(await slackSigningSecret({ STAGELINE_SLACK_SIGNING_SECRET: 'local' })).toBe('local');
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand, { SecretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:stageline-slack-AbC' }).resolves({
      SecretString: 'from-secrets-manager\n',
    });
    const env = {
      AWS_LAMBDA_FUNCTION_NAME: 'f',
      SLACK_SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:stageline-slack-AbC',
      STAGELINE_SLACK_SIGNING_SECRET: 'local',
    };
    expect(await slackSigningSecret(env)).toBe('from-secrets-manager');
    expect(await slackSigningSecret(env)).toBe('from-secrets-manager');
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    sm.restore();
  });
});
