import { describe, expect, it } from 'vitest';
import { callerMatches, fromJwt } from '../../functions/http/principal.ts';

describe('MACHINE_PRINCIPALS: which IAM callers an entry names', () => {
  const session = 'arn:aws:sts::123456789012:assumed-role/ci-deploy/GitHubActions-42';
  it('a role ARN (or glob, with or without a path) names every session of the roles it matches: callers arrive as assumed-role/<name>/<session>', () => {
    expect(callerMatches(session, 'arn:aws:iam::123456789012:role/ci-*')).toBe(true);
    expect(callerMatches(session, 'arn:aws:iam::123456789012:role/pipelines/ci-deploy')).toBe(true);
    expect(callerMatches(session, 'arn:aws:iam::123456789012:role/ci-other')).toBe(false);
    expect(callerMatches(session, 'arn:aws:iam::999999999999:role/ci-*')).toBe(false);
  });
  it('an assumed-role or user pattern is matched as written; * never crosses a /', () => {
    expect(callerMatches(session, 'arn:aws:sts::123456789012:assumed-role/ci-deploy/*')).toBe(true);
    expect(callerMatches(session, 'arn:aws:sts::123456789012:assumed-role/*')).toBe(false);
    expect(callerMatches('arn:aws:iam::123456789012:user/robot', 'arn:aws:iam::123456789012:user/robot')).toBe(true);
    expect(callerMatches('arn:aws:iam::123456789012:user/robot', 'arn:aws:iam::123456789012:role/robot')).toBe(false);
    expect(callerMatches('arn:aws:iam::123456789012:role/ci-deploy', 'arn:aws:iam::123456789012:role/ci-*')).toBe(true);
  });
});

describe('a person’s token: who they are', () => {
  const claims = { 'custom:tenant_id': 'acme', sub: 'SUB-1', email: 'Pat@Acme.example', 'cognito:groups': '[viewer]', iat: 1 };
  it('is named by their email (lower case) when the pool does not say it is unverified', () => {
    expect(fromJwt(claims).name).toBe('pat@acme.example');
    expect(fromJwt({ ...claims, email_verified: 'true' }).name).toBe('pat@acme.example');
  });
  it('is named by their subject alone when the pool says the email is not verified (API Gateway hands claims as strings)', () => {
    expect(fromJwt({ ...claims, email_verified: 'false' }).name).toBe('sub-1');
    expect(fromJwt({ ...claims, email_verified: false }).name).toBe('sub-1');
  });
});
