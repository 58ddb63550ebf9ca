import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiError } from './api.ts';
import type { Say } from './ui.tsx';

/**
 * What the settings views (console/views/access.tsx, identity-provider.tsx, audit-stream.tsx, settings.tsx) and an
 * environment's change control (change-control.tsx) share: an action's state, a refusal, a form's fields and its end,
 * a list's rows and buttons, a confirmation, copying. Not in ui.tsx, whose code is part of the console's first load:
 * these load with the first of those views opened, and change control loads them without the settings views.
 */

/**
 * An action a person starts (a save, a removal) and its state, as `[run, busy, problem, setProblem]` (a list, as
 * useState's, so each view names them: `refused`, `error`, …). `run(failed, call, then)` is busy while it calls the
 * API (`call`); once it answers, the problem is cleared and `then` goes on with the answer (close the form, say so,
 * read again). A refusal makes the problem `failed` with the API's words ("Not saved: …"), or, when `failed` is a
 * function, what it makes of the refusal (it may say it elsewhere instead). Busy ends when all that is done.
 */
export function useAction<P = string>() {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<P | null>(null);
  const run = async <T,>(failed: (string extends P ? string : never) | ((e: ApiError) => P), call: () => Promise<T>, then: (answer: T) => unknown) => {
    setBusy(true);
    try {
      const answer = await call();
      setProblem(null);
      await then(answer);
    } catch (e) {
      setProblem(typeof failed === 'string' ? (`${failed}: ${(e as ApiError).message}` as P) : failed(e as ApiError));
    } finally {
      setBusy(false);
    }
  };
  return [run, busy, problem, setProblem] as const;
}

/** What went wrong, as an alert (a screen reader says it at once); nothing while nothing did. */
export const Problem = ({ text }: { text?: string | null }) =>
  text ? (
    <p class="notice bad" role="alert">
      {text}
    </p>
  ) : null;

/** A refused save of a list saved whole with the version read; `stale`: someone else changed the list since it was read. */
export interface Refusal {
  text: string;
  stale: boolean;
}
/** A refused save of such a list (role bindings, the group mapping), as an alert; when it was stale, a button (`label`) reads the list again. */
export const Refused = ({ refused, label, reload }: { refused: Refusal | null; label: string; reload: () => void }) =>
  refused && (
    <div class="notice bad" role="alert">
      <span>{refused.text}</span>
      {refused.stale && (
        <button type="button" onClick={reload}>
          {label}
        </button>
      )}
    </div>
  );

/** The end of a form: what is wrong with it (an alert), its submit button (`saving` its words while busy) and Cancel. */
export const FormEnd = ({
  problem,
  busy,
  label,
  saving = 'Saving…',
  cancel,
}: {
  problem?: string | null;
  busy: boolean;
  label: string;
  saving?: string;
  cancel: () => void;
}) => (
  <>
    <Problem text={problem} />
    <div class="buttons">
      <button type="submit" class="primary" disabled={busy}>
        {busy ? saving : label}
      </button>
      <button type="button" onClick={cancel} disabled={busy}>
        Cancel
      </button>
    </div>
  </>
);

/** The button under a list that opens the form to add one more (a binding, a mapping, a destination). */
export const AddButton = ({ onClick, children }: { onClick: () => void; children: ComponentChildren }) => (
  <p>
    <button type="button" class="primary" onClick={onClick}>
      {children}
    </button>
  </p>
);

/** A table row's Edit and Remove buttons, named for a screen reader "Edit <what>" and "Remove <what>"; both wait while busy. */
export const RowActions = ({ what, busy, edit, remove }: { what: string; busy: boolean; edit: () => void; remove: () => void }) => (
  <td class="row-actions">
    <button type="button" class="link" disabled={busy} onClick={edit} aria-label={`Edit ${what}`}>
      Edit
    </button>
    <button type="button" class="link" disabled={busy} onClick={remove} aria-label={`Remove ${what}`}>
      Remove
    </button>
  </td>
);

/** The row of a table with nothing in it: `children` say so, across its `cols` columns. */
export const EmptyRow = ({ cols, children }: { cols: number; children: ComponentChildren }) => (
  <tr>
    <td colSpan={cols} class="mut">
      {children}
    </td>
  </tr>
);

/**
 * Asks before what cannot be taken back (a token replaced or revoked, a connection or a rule removed): the question
 * (`children`, in the element `id` that names the dialog), the button that does it (`yes`) and the one that keeps things as they are (`no`).
 */
export const Confirm = (p: { id: string; yes: string; no: string; busy: boolean; onYes: () => void; onNo: () => void; children: ComponentChildren }) => (
  <div class="why-box bad" role="alertdialog" aria-labelledby={p.id}>
    <p id={p.id}>{p.children}</p>
    <div class="buttons">
      <button type="button" class="danger" disabled={p.busy} onClick={p.onYes}>
        {p.yes}
      </button>
      <button type="button" disabled={p.busy} onClick={p.onNo}>
        {p.no}
      </button>
    </div>
  </div>
);

/** Copies text; when the browser refuses, says how to copy it by hand. */
export async function copy(text: string, say: Say, what: string) {
  try {
    await navigator.clipboard.writeText(text);
    say('ok', `${what} copied.`);
  } catch {
    say('bad', `Copying was refused by the browser: select the ${what.toLowerCase()} and copy it yourself.`);
  }
}

/** A refusal's words by the form field they name (its API path); what names no field is under ''. */
export type Issues = Record<string, string>;

/** The issues of a refusal by the form field they name (`emailDomains.1` → emailDomains); what names no field under '' . */
export function issuesByField(e: ApiError, fields: readonly string[]): Issues {
  const out: Issues = {};
  const list: { path?: string; message?: string }[] = e.body?.error?.issues ?? [];
  for (const i of list) {
    const path = i.path ?? '';
    const field = fields.find((f) => path === f || path.startsWith(`${f}.`)) ?? '';
    const index = /\.(\d+)$/.exec(path)?.[1];
    const text = `${index !== undefined && field === 'emailDomains' ? `domain ${Number(index) + 1}: ` : ''}${i.message ?? ''}`;
    out[field] = out[field] ? `${out[field]}; ${text}` : text;
  }
  // A refusal without a field (a stale version, a secret store that failed) reads as a whole.
  if (!list.length) out[''] = `Not saved: ${e.message}`;
  if (e.body?.error?.code === 'VERSION_CONFLICT')
    out[''] = 'Not saved: someone else changed the connection since this page read it. Reload it, then make your change again.';
  return out;
}

/**
 * A text field of a settings form (the identity provider connection's, change control's); a refusal naming it
 * (its API path `name`) is shown under it. `secret`: a password field, never filled with anything the API answered.
 */
export function Field(p: {
  name: string;
  label: string;
  value: string;
  set: (v: string) => void;
  issues: Issues;
  area?: true;
  help?: string;
  placeholder?: string;
  prefix?: string;
  secret?: true;
}) {
  const id = `${p.prefix ?? 'idp'}-${p.name.replace('.', '-')}`;
  const problem = p.issues[p.name];
  const attrs = {
    id,
    class: 'wide',
    spellcheck: false,
    autocomplete: 'off',
    placeholder: p.placeholder,
    value: p.value,
    'aria-invalid': problem ? ('true' as const) : undefined,
    'aria-describedby': [p.help && `${id}-help`, problem && `${id}-problem`].filter(Boolean).join(' ') || undefined,
    onInput: (e: Event) => p.set((e.target as HTMLInputElement).value),
  };
  return (
    <>
      <label for={id}>{p.label}</label>
      {p.area ? <textarea rows={6} {...attrs} /> : p.secret ? <input type="password" {...attrs} /> : <input {...attrs} />}
      {p.help && (
        <p id={`${id}-help`} class="mut">
          {p.help}
        </p>
      )}
      {problem && (
        <p id={`${id}-problem`} class="field-problem bad" role="alert">
          {problem}
        </p>
      )}
    </>
  );
}

/** Two choices as radio buttons (the protocol, where the SAML metadata comes from); a refusal naming `name` under them. */
export function Choice<T extends string>(p: {
  name: string;
  legend: string;
  value: T;
  set: (v: T) => void;
  options: [T, string][];
  issues: Issues;
  prefix?: string;
}) {
  return (
    <>
      <fieldset class="env-picks">
        <legend>{p.legend}</legend>
        {p.options.map(([v, text]) => (
          <label key={v}>
            <input type="radio" name={`${p.prefix ?? 'idp'}-${p.name}`} checked={p.value === v} onChange={() => p.set(v)} /> {text}
          </label>
        ))}
      </fieldset>
      {p.issues[p.name] && (
        <p class="field-problem bad" role="alert">
          {p.issues[p.name]}
        </p>
      )}
    </>
  );
}
