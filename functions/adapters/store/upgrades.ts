import { SCHEMA_VERSION, versionOf } from './schema-version.ts';

/**
 * The one list of upgrades of stored items (schema.ts says when they run): by the version an item was written in, by its
 * entity, the function that gives it as the next version writes it. Each looks at the shape as well as the number (an
 * item an update made carries no version) and returns an item already in the next shape as it is.
 *
 * A change of a stored shape adds its upgrade here and raises SCHEMA_VERSION; the areas read only the current shape.
 * (One older shape is not upgraded here: an environment item holding its targets itself, from before targets had an
 * item of their own, is moved out with writes the first time it is read, store/environments.ts `repairLegacy`; an
 * upgrade on read cannot write.)
 */
type Item = Record<string, unknown>;
type Upgrade = (item: Item) => Item;

/** The origin of a URL (none when it does not parse). */
const originOf = (url: string): string | undefined => {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
};

const UPGRADES: Record<number, Partial<Record<string, Upgrade>>> = {
  // Version 1 → 2.
  1: {
    // An artifact version's metadata was a native map (which refuses empty keys and numbers DynamoDB cannot hold); it
    // is JSON text, `metadataJson`, since.
    ArtifactVersion: (item) => {
      if (typeof item.metadataJson === 'string' || !('metadata' in item)) return item;
      const { metadata, ...rest } = item;
      return { ...rest, metadataJson: JSON.stringify(metadata ?? {}) };
    },
    // Notification settings held a Slack signing secret and user map (Slack requests are verified with the deployment's
    // secret and people link themselves since: neither is read again), and webhooks stored plain, without their origin
    // kept beside them (a sealed one is `enc:…` and had its origin kept when sealed).
    NotifySettings: (item) => {
      let out = item;
      const teams = item.teams as { webhook?: unknown; origin?: unknown } | undefined;
      if (teams && !teams.origin && typeof teams.webhook === 'string' && !teams.webhook.startsWith('enc:'))
        out = { ...out, teams: { ...teams, origin: originOf(teams.webhook) ?? '' } };
      const slack = item.slack as { webhook?: unknown; origin?: unknown; signingSecret?: unknown; users?: unknown } | undefined;
      if (slack) {
        const { signingSecret: _secret, users: _users, ...kept } = slack;
        if (!kept.origin && typeof kept.webhook === 'string' && !kept.webhook.startsWith('enc:')) kept.origin = originOf(kept.webhook);
        out = { ...out, slack: kept };
      }
      return out;
    },
  },
};

/** An item read as the current version writes it (its `sv` left as stored: what it says is where the item came from). */
export function upgradeItem(item: Item): Item {
  let out = item;
  for (let v = versionOf(item); v < SCHEMA_VERSION; v++) {
    const entity = typeof out.entity === 'string' ? out.entity : '';
    out = (Object.hasOwn(UPGRADES[v] ?? {}, entity) ? UPGRADES[v]![entity]! : (i: Item) => i)(out);
  }
  return out;
}

/** Upgrades an item where it lies (in a read's answer): what the upgrade dropped is deleted, the rest replaced. */
export function upgradeInPlace(item: Item): void {
  const next = upgradeItem(item);
  for (const k of Object.keys(item)) if (!Object.hasOwn(next, k)) delete item[k];
  // Defined, not assigned: an attribute named like an accessor of every object (`__proto__`) stays an attribute.
  for (const [k, v] of Object.entries(next)) Object.defineProperty(item, k, { value: v, writable: true, enumerable: true, configurable: true });
}
