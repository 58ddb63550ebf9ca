/**
 * The provisioning requests two identity providers document for SCIM 2.0 endpoints, as they document them
 * (bodies verbatim): Microsoft Entra ID's "SCIM protocol requests and responses" (create, get, get by
 * query, update multi- and single-valued properties, disable, delete; create group, get by displayName,
 * update, add and remove members, delete group) and Okta's SCIM 2.0 reference (check by userName, create,
 * PUT, deactivate by PATCH). Where a documented request names a resource id (a path, a member's value),
 * the replay puts in the id this server answered, as the client does; `ID` marks those places.
 */
export const ID = '{id}';

export interface ScimStep {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** relative to the SCIM base URL; `{id}` is the id of the step's resource */
  path: string;
  body?: unknown;
  /** the status the provider's documentation shows */
  status: number;
}

export const ENTRA_USER_ID = '5171a35d82074e068ce2';

export const ENTRA_USERS: ScimStep[] = [
  {
    name: 'Create User',
    method: 'POST',
    path: '/Users',
    status: 201,
    body: {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
      externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
      userName: 'Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee',
      active: true,
      emails: [
        {
          primary: true,
          type: 'work',
          value: 'Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com',
        },
      ],
      meta: {
        resourceType: 'User',
      },
      name: {
        formatted: 'givenName familyName',
        familyName: 'familyName',
        givenName: 'givenName',
      },
      roles: [],
    },
  },
  { name: 'Get User', method: 'GET', path: `/Users/${ID}`, status: 200 },
  { name: 'Get User (not found)', method: 'GET', path: '/Users/5171a35d82074e068ce2', status: 404 },
  { name: 'Get User by query', method: 'GET', path: '/Users?filter=userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"', status: 200 },
  { name: 'Get User by query - Zero results', method: 'GET', path: '/Users?filter=userName eq "non-existent user"', status: 200 },
  {
    name: 'Update User [Multi-valued properties]',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'Replace',
          path: 'emails[type eq "work"].value',
          value: 'updatedEmail@microsoft.com',
        },
        {
          op: 'Replace',
          path: 'name.familyName',
          value: 'updatedFamilyName',
        },
      ],
    },
  },
  {
    name: 'Update User [Single-valued properties]',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'Replace',
          path: 'userName',
          value: '5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com',
        },
      ],
    },
  },
  {
    name: 'Disable User',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: {
      Operations: [
        {
          op: 'Replace',
          path: 'active',
          value: false,
        },
      ],
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    },
  },
  { name: 'Delete User', method: 'DELETE', path: `/Users/${ID}`, status: 204 },
];

export const ENTRA_GROUPS: ScimStep[] = [
  {
    name: 'Create Group',
    method: 'POST',
    path: '/Groups',
    status: 201,
    body: {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'displayName',
      meta: {
        resourceType: 'Group',
      },
    },
  },
  { name: 'Get Group', method: 'GET', path: `/Groups/${ID}?excludedAttributes=members`, status: 200 },
  { name: 'Get Group by displayName', method: 'GET', path: '/Groups?excludedAttributes=members&filter=displayName eq "displayName"', status: 200 },
  {
    name: 'Update Group [Non-member attributes]',
    method: 'PATCH',
    path: `/Groups/${ID}`,
    status: 204,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'Replace',
          path: 'displayName',
          value: '1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName',
        },
      ],
    },
  },
  {
    name: 'Update Group [Add Members]',
    method: 'PATCH',
    path: `/Groups/${ID}`,
    status: 204,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'Add',
          path: 'members',
          value: [
            {
              $ref: null,
              value: 'f648f8d5ea4e4cd38e9c',
            },
          ],
        },
      ],
    },
  },
  {
    name: 'Update Group [Remove Members]',
    method: 'PATCH',
    path: `/Groups/${ID}`,
    status: 204,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'Remove',
          path: 'members',
          value: [
            {
              $ref: null,
              value: 'f648f8d5ea4e4cd38e9c',
            },
          ],
        },
      ],
    },
  },
  { name: 'Delete Group', method: 'DELETE', path: `/Groups/${ID}`, status: 204 },
];

/** The member id Entra's group examples name (replaced by a user this server created). */
export const ENTRA_MEMBER_ID = 'f648f8d5ea4e4cd38e9c';

export const OKTA_USERS: ScimStep[] = [
  { name: 'Check if the user exists', method: 'GET', path: '/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100', status: 200 },
  {
    name: 'Create the user',
    method: 'POST',
    path: '/Users',
    status: 201,
    body: {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'test.user@okta.local',
      name: {
        givenName: 'Test',
        familyName: 'User',
      },
      emails: [
        {
          primary: true,
          value: 'test.user@okta.local',
          type: 'work',
        },
      ],
      displayName: 'Test User',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      groups: [],
      password: '1mz050nq',
      active: true,
    },
  },
  { name: 'Retrieve the user', method: 'GET', path: `/Users/${ID}`, status: 200 },
  {
    name: 'Update the user (PUT)',
    method: 'PUT',
    path: `/Users/${ID}`,
    status: 200,
    body: {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      id: '23a35c27-23d3-4c03-b4c5-6443c09e7173',
      userName: 'test.user@okta.local',
      name: {
        givenName: 'Another',
        middleName: 'Excited',
        familyName: 'User',
      },
      emails: [
        {
          primary: true,
          value: 'test.user@okta.local',
          type: 'work',
          display: 'test.user@okta.local',
        },
      ],
      active: true,
      groups: [],
      meta: {
        resourceType: 'User',
      },
    },
  },
  {
    name: 'Deactivate the user (PATCH)',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'replace',
          value: {
            active: false,
          },
        },
      ],
    },
  },
];

/** The id Okta's PUT example carries in its body (the server's id is the path's). */
export const OKTA_USER_ID = '23a35c27-23d3-4c03-b4c5-6443c09e7173';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/**
 * Microsoft Entra ID on its default settings, as Microsoft documents what it sends ("Known issues and resolutions
 * with SCIM 2.0 protocol compliance of the Microsoft Entra user provisioning service": the requests "without
 * feature flag", and those with the aadOptscim062020 flag; bodies verbatim) around the documented create and
 * query ("SCIM protocol requests and responses"): string booleans ("False", "True"), capitalised ops, a
 * path-less replace whose value object names attributes by path (enterprise ones by their full URN), an
 * enterprise attribute by its full path (the attribute mapping the tutorial lists: department, employeeNumber,
 * manager; the manager as the id Entra sends, the tutorial's "123456"), members removed by a value list or by a
 * `members[value eq "…"]` path.
 */
export const ENTRA_DEFAULT_USERS: ScimStep[] = [
  ENTRA_USERS[0]!,
  ENTRA_USERS.find((s) => s.name === 'Get User by query')!,
  {
    name: 'Get User by query on the work email',
    method: 'GET',
    path: '/Users?filter=emails[type eq "work"].value eq "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"',
    status: 200,
  },
  {
    name: 'Add a single-value string attribute (without feature flag)',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'Add',
          path: 'nickName',
          value: 'Babs',
        },
      ],
    },
  },
  {
    name: 'Replace multiple attributes (without feature flag)',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'Replace',
          path: 'displayName',
          value: 'Pvlo',
        },
        {
          op: 'Replace',
          path: 'emails[type eq "work"].value',
          value: 'TestBcwqnm@test.microsoft.com',
        },
        {
          op: 'Replace',
          path: 'name.givenName',
          value: 'Gtfd',
        },
        {
          op: 'Replace',
          path: 'name.familyName',
          value: 'Pkqf',
        },
        {
          op: 'Replace',
          path: 'externalId',
          value: 'Eqpj',
        },
        {
          op: 'Replace',
          path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber',
          value: 'Eqpj',
        },
      ],
    },
  },
  {
    name: 'Replace multiple attributes (with feature flag)',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'replace',
          path: 'emails[type eq "work"].value',
          value: 'TestMhvaes@test.microsoft.com',
        },
        {
          op: 'replace',
          value: {
            displayName: 'Bjfe',
            'name.givenName': 'Kkom',
            'name.familyName': 'Unua',
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': 'Aklq',
          },
        },
      ],
    },
  },
  {
    name: 'Add the department by its full path',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: `${ENTERPRISE}:department`, value: 'Tech Infrastructure' }] },
  },
  {
    name: 'Replace the department by its full path',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Platform' }] },
  },
  {
    name: 'Add the manager by its full path',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: { schemas: [PATCH_OP], Operations: [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: '123456' }] },
  },
  {
    name: 'Replace a boolean sub-attribute with a string boolean',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'emails[type eq "work"].primary', value: 'True' }] },
  },
  {
    name: 'Disable User (without feature flag)',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'Replace',
          path: 'active',
          value: 'False',
        },
      ],
    },
  },
  {
    name: 'Enable User (without feature flag)',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'active', value: 'True' }] },
  },
  {
    name: 'Disable User (with feature flag)',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'replace',
          path: 'active',
          value: false,
        },
      ],
    },
  },
  {
    name: 'Enable User (path-less, with an object value)',
    method: 'PATCH',
    path: `/Users/${ID}`,
    status: 200,
    body: { schemas: [PATCH_OP], Operations: [{ op: 'Replace', value: { active: 'true', displayName: 'x' } }] },
  },
  { name: 'Delete User', method: 'DELETE', path: `/Users/${ID}`, status: 204 },
];

/** The manager id of the tutorial's example (replaced by a user this server created). */
export const ENTRA_MANAGER_ID = '123456';

export const ENTRA_DEFAULT_GROUPS: ScimStep[] = [
  ENTRA_GROUPS[0]!,
  ENTRA_GROUPS.find((s) => s.name === 'Update Group [Add Members]')!,
  {
    name: 'Remove a group member (with feature flag)',
    method: 'PATCH',
    path: `/Groups/${ID}`,
    status: 204,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'remove',
          path: 'members[value eq "7f4bc1a3-285e-48ae-8202-5accb43efb0e"]',
        },
      ],
    },
  },
  { ...ENTRA_GROUPS.find((s) => s.name === 'Update Group [Add Members]')!, name: 'Add the member again' },
  {
    name: 'Remove a group member (without feature flag)',
    method: 'PATCH',
    path: `/Groups/${ID}`,
    status: 204,
    body: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        {
          op: 'Remove',
          path: 'members',
          value: [
            {
              value: 'u1091',
            },
          ],
        },
      ],
    },
  },
  { name: 'Delete Group', method: 'DELETE', path: `/Groups/${ID}`, status: 204 },
];

/** The member ids the compatibility page's group examples name (each replaced by a user this server created). */
export const ENTRA_FLAG_MEMBER_IDS = ['7f4bc1a3-285e-48ae-8202-5accb43efb0e', 'u1091'];
