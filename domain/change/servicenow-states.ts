/**
 * ServiceNow's change_request states that let a change be implemented (the Table API's integer values, as the
 * change_request table documents them: -5 New, -4 Assess, -3 Authorize, -2 Scheduled, -1 Implement, 0 Review,
 * 3 Closed, 4 Canceled). A module of its own (no schema library): the rule (rule.ts) and the console name them alike.
 */
export const SERVICENOW_STATES: Record<string, string> = {
  '-5': 'New',
  '-4': 'Assess',
  '-3': 'Authorize',
  '-2': 'Scheduled',
  '-1': 'Implement',
  '0': 'Review',
  '3': 'Closed',
  '4': 'Canceled',
};

/** A change request's state as people read it: ServiceNow's value by its name, any other tool's status as it is. */
export const changeStateName = (state: string): string => SERVICENOW_STATES[state] ?? state;
