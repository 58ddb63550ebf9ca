import * as z from '../../../domain/kernel/zod.ts';

/** What the change-control routes answer (domain/change/rule.ts changeControlView): never the credential, only its kind. */
export const changeControlResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    environment: z.string(),
    provider: z.enum(['servicenow', 'jira']),
    instanceUrl: z.string(),
    type: z.enum(['normal', 'standard']),
    template: z.nullable(z.string()),
    approvedStates: z.array(z.string()).check(z.describe("the tool's states in which a request may be implemented")),
    jira: z
      .nullable(
        z.strictObject({
          serviceDeskId: z.string(),
          requestTypeId: z.string(),
          rejectedStatuses: z.array(z.string()),
          cancelledStatuses: z.array(z.string()),
          closeSuccessful: z.string(),
          closeUnsuccessful: z.string(),
          plannedStartField: z.optional(z.string()),
          plannedEndField: z.optional(z.string()),
        }),
      )
      .check(z.describe("a Jira rule's service desk, request type, status lists, closing transitions and planned-window fields (null for other tools)")),
    credentialKind: z.enum(['basic', 'bearer']).check(z.describe('which credential is stored (never its value)')),
    updatedAt: z.string(),
    updatedBy: z.string(),
  }),
);

/** A promotion's change request (domain/change/service.ts changeRequestView). */
export const changeRequestResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    provider: z.enum(['servicenow', 'jira']),
    number: z.nullable(z.string()),
    url: z.nullable(z.string()),
    state: z.nullable(z.string()),
    approval: z.nullable(z.string()),
    window: z.nullable(z.strictObject({ start: z.string(), end: z.string() })),
    digest: z.string(),
    checkedAt: z.nullable(z.string()),
    reason: z.nullable(z.string()),
    closed: z.nullable(z.enum(['successful', 'unsuccessful', 'cancelled'])),
    voided: z.array(z.strictObject({ number: z.string(), digest: z.string() })),
  }),
);

/** POST …/promotions/{id}/change-request/check. */
export const changeCheckResponse = /* @__PURE__ */ z.schema(() =>
  z.strictObject({
    id: z.string(),
    status: z.string(),
    checking: z.boolean().check(z.describe('the look is under way: the promotion goes on at once when its request is approved inside its window')),
    changeRequest: z.nullable(changeRequestResponse),
  }),
);
