/**
 * Keeping a copy of Safqa's contacts in sync from TypeScript: types generated from the OpenAPI
 * schema, and the platform's own fetch (browsers, Node 18+, Deno, Bun), no client library.
 *
 *   npx openapi-typescript "http://127.0.0.1:8000/api/schema/?format=json" -o examples/ts/safqa-api.d.ts
 *   npx tsc -p examples/ts
 *
 * The second command type-checks this file against the schema; the test suite does the same
 * (tests/api/test_generated_clients.py), so a schema change this code depends on fails there.
 * Import the functions below into your app, or call `main` with your server and token.
 */
import type { components, operations, paths } from "./safqa-api";

export type Contact = components["schemas"]["Contact"];
/** What a client sends to create a contact: no read-only fields, `first_name` required. */
export type NewContact = components["schemas"]["ContactRequest"];
/** A partial update: every field optional. */
export type ContactEdit = components["schemas"]["PatchedContactRequest"];
export type ApiError = components["schemas"]["Error"];
type ContactPage = operations["v1_contacts_list"]["responses"][200]["content"]["application/json"];
type ListQuery = NonNullable<operations["v1_contacts_list"]["parameters"]["query"]>;
type Changes = operations["contacts_changes"]["responses"][200]["content"]["application/json"];
type ChangesQuery = NonNullable<operations["contacts_changes"]["parameters"]["query"]>;
type CreateHeaders = NonNullable<operations["v1_contacts_create"]["parameters"]["header"]>;
type UpdateHeaders = NonNullable<operations["v1_contacts_partial_update"]["parameters"]["header"]>;
type ContactId = operations["v1_contacts_partial_update"]["parameters"]["path"]["id"];
// The refusals this file handles arrive in the one error shape.
type StaleEtag = operations["v1_contacts_partial_update"]["responses"][412]["content"]["application/json"];
type ExpiredToken = operations["contacts_changes"]["responses"][410]["content"]["application/json"];

const CONTACTS = "/api/v1/contacts/" satisfies keyof paths;
const CHANGES = "/api/v1/contacts/changes/" satisfies keyof paths;
const contactPath = (id: ContactId) => CONTACTS + `${id}/`; // "/api/v1/contacts/{id}/"

export interface Safqa {
  baseUrl: string; // e.g. "https://crm.example.com"
  token: string; // a personal API token, "sfq_…"
  language?: "ar" | "en"; // of the error messages
}

export class SafqaError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(`${status} ${body.error.code}: ${body.error.message}`);
  }
}

/** The sync token is older than the deletions Safqa keeps: throw the copy away and sync in full. */
export class SyncTokenExpired extends Error {
  constructor(readonly body: ExpiredToken) {
    super(body.error.message);
  }
}

interface Request {
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string | undefined>;
  body?: unknown;
}

async function call<T>(safqa: Safqa, method: string, path: string, request: Request = {}) {
  const url = new URL(path, safqa.baseUrl);
  for (const [name, value] of Object.entries(request.query ?? {})) {
    if (value !== undefined) url.searchParams.set(name, String(value));
  }
  const headers = new Headers({ Authorization: `Bearer ${safqa.token}`, "Accept-Language": safqa.language ?? "en" });
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (value !== undefined) headers.set(name, value);
  }
  const body = request.body === undefined ? undefined : JSON.stringify(request.body);
  if (body !== undefined) headers.set("Content-Type", "application/json");
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(url, { method, headers, body });
    if (response.status === 429 && attempt < 5) {
      // Rate limited: the answer says how many seconds to wait.
      await new Promise((done) => setTimeout(done, Number(response.headers.get("Retry-After") ?? "5") * 1000));
      continue;
    }
    const data: unknown = response.status === 204 ? undefined : await response.json();
    if (!response.ok) throw new SafqaError(response.status, data as ApiError);
    return { data: data as T, headers: response.headers };
  }
}

/** A full copy by paging through the list (`next` until null). It gives no sync token: see `sync`. */
export async function listAll(safqa: Safqa, pageSize = 500): Promise<Map<number, Contact>> {
  const copy = new Map<number, Contact>();
  let query: ListQuery = { page_size: pageSize };
  for (;;) {
    const { data } = await call<ContactPage>(safqa, "GET", CONTACTS, { query });
    for (const contact of data.results) copy.set(contact.id, contact);
    if (!data.next) return copy;
    // `next` is a whole URL; its cursor is opaque and passed on as is.
    query = { page_size: pageSize, cursor: new URL(data.next).searchParams.get("cursor") ?? undefined };
  }
}

/**
 * Brings `copy` up to date and returns the token to save for next time. Without a token (an empty
 * copy) this is the full sync, and its token covers every write made while it ran.
 */
export async function sync(safqa: Safqa, copy: Map<number, Contact>, since: string | null): Promise<string> {
  let query: ChangesQuery = since === null ? { limit: 500 } : { since, limit: 500 };
  for (;;) {
    let data: Changes;
    try {
      ({ data } = await call<Changes>(safqa, "GET", CHANGES, { query }));
    } catch (error) {
      if (error instanceof SafqaError && error.status === 410) throw new SyncTokenExpired(error.body);
      throw error;
    }
    for (const record of data.changes) copy.set(record.id, record); // the whole record, not a diff
    for (const tombstone of data.deleted) copy.delete(tombstone.id);
    if (!data.has_more) return data.next_sync_token;
    query = { since: data.next_sync_token, limit: 500 };
  }
}

/**
 * Creates a contact, safe to retry: every attempt sends the same Idempotency-Key, so after a
 * network error the retry either creates it or returns the stored answer of the first attempt.
 */
export async function createContact(
  safqa: Safqa,
  contact: NewContact,
  idempotencyKey: string = crypto.randomUUID(),
): Promise<Contact> {
  const headers: CreateHeaders = { "Idempotency-Key": idempotencyKey };
  for (let attempt = 1; ; attempt++) {
    try {
      return (await call<Contact>(safqa, "POST", CONTACTS, { headers, body: contact })).data;
    } catch (error) {
      if (error instanceof SafqaError || attempt === 3) throw error; // an answer, or out of attempts
    }
  }
}

/**
 * Changes a contact only if nobody changed it since its ETag was read. On 412 (nothing was
 * written) it reads the record again and re-applies the edit; a client that merges by hand, or asks
 * its user, does so at that point.
 */
export async function updateContact(safqa: Safqa, id: ContactId, edit: ContactEdit, etag?: string): Promise<Contact> {
  for (let attempt = 1; ; attempt++) {
    if (etag === undefined) {
      const current = await call<Contact>(safqa, "GET", contactPath(id));
      etag = current.headers.get("ETag") ?? `"${current.data.version}"`;
    }
    const headers: UpdateHeaders = { "If-Match": etag };
    try {
      return (await call<Contact>(safqa, "PATCH", contactPath(id), { headers, body: edit })).data;
    } catch (error) {
      if (!(error instanceof SafqaError && error.status === 412) || attempt === 3) throw error;
      const stale: StaleEtag = error.body;
      console.warn(`${stale.error.message}: reading contact ${id} again`);
      etag = undefined;
    }
  }
}

/** The whole walk-through: full sync, changes since the token, a create, a conditional update. */
export async function main(safqa: Safqa): Promise<void> {
  const copy = new Map<number, Contact>();
  let token = await sync(safqa, copy, null);
  console.log(`full sync: ${copy.size} contacts`);

  const created = await createContact(safqa, { first_name: "ليلى", last_name: "الأحمد", email: "layla@example.com" });
  const updated = await updateContact(safqa, created.id, { job_title: "مديرة مشتريات" });
  console.log(`created ${created.id}, now version ${updated.version}`);

  try {
    token = await sync(safqa, copy, token);
  } catch (error) {
    if (!(error instanceof SyncTokenExpired)) throw error;
    copy.clear();
    token = await sync(safqa, copy, null);
  }
  console.log(`after changes: ${copy.size} contacts; save the token ${token}`);
}
