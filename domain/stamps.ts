import * as z from 'zod';

/** A time in answers: ISO 8601, UTC. */
export const isoTimeOut = /* @__PURE__ */ z.string().describe('ISO 8601, UTC');

/** The fields every versioned, audited setting answers with (optimistic version, who made and last changed it). */
export const stampFields = {
  version: /* @__PURE__ */ z.number().int(),
  createdAt: isoTimeOut,
  createdBy: /* @__PURE__ */ z.string(),
  updatedAt: isoTimeOut,
  updatedBy: /* @__PURE__ */ z.string(),
};
