import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * The credential chain a Lambda function needs: its execution role's credentials, which Lambda puts in
 * the environment. The bundles alias the SDK's default chain (`@aws-sdk/credential-provider-node`: SSO,
 * INI files, process, IMDS, web identity — each with its own nested clients) to this, so no function
 * loads code that can never find credentials in Lambda. Only the Lambda bundles use it (scripts/build.ts,
 * infra/function.ts); the local stack and the tests run the sources with the full chain.
 */
export const defaultProvider = (_init?: unknown) => fromEnv();
