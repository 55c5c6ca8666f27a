/**
 * Client of the server extension's REST API (`/activemirror/api/...`).
 *
 * Requests go through `ServerConnection`, so they carry the same token/XSRF
 * credentials as every other JupyterLab request (writes need the XSRF token).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export const ROLES = ['user', 'assistant', 'system'] as const;
export type Role = (typeof ROLES)[number];

/** One session (`GET /activemirror/api/sessions`, `.../sessions/{id}`). */
export interface ISessionSummary {
  id: string;
  title: string;
  user_id: string | null;
  parent_session_id: string | null;
  status: string;
  created_at: string;
  updated_at: string;
  message_count: number;
  metadata?: Record<string, unknown>;
  tags?: string[];
  head?: string | null;
  sealed?: boolean;
  /** In listings: how many sessions have this one as their parent. */
  child_count?: number;
}

export interface ISessionPage {
  sessions: ISessionSummary[];
  total: number;
  limit: number;
  offset: number;
  /** With `roots`: every session, not just the tops of families. */
  all_total?: number;
}

export interface IAttachment {
  name: string;
  mime_type: string;
  size: number;
  sha256: string;
}

export interface IMessage {
  id: string;
  session_id: string;
  role: Role;
  content: string;
  timestamp: string;
  metadata: Record<string, unknown>;
  hash?: string | null;
  attachments?: IAttachment[];
  /** Set once the message was redacted: its content, metadata and attachments are gone. */
  redacted?: IRedaction | null;
}

/** When and why a message was redacted. */
export interface IRedaction {
  at: string;
  reason: string;
}

export interface IMessagePage {
  session_id: string;
  messages: IMessage[];
  total: number;
  limit: number;
  offset: number;
}

/** A message and where it sits in its session (0 is the oldest). */
export interface IMessagePlace {
  message: IMessage;
  position: number;
  total: number;
}

export interface ISearchHit {
  session_id: string;
  session_title: string;
  message: IMessage;
  snippet: string;
  /** [start, end) of each matched word in `snippet`, in code points. */
  highlights: [number, number][];
  /** Search by meaning: closeness to the query, higher is closer; null for word search. */
  score?: number | null;
}

/** How `search` finds: by the words, or by closeness of meaning (`mode=meaning`). */
export type SearchMode = 'words' | 'meaning';

export interface ISearchResult {
  total: number;
  hits: ISearchHit[];
  limit: number;
  offset: number;
}

export interface ISearchFilters {
  role?: Role;
  tag?: string;
  /** ISO 8601 times with their timezone (inclusive, exclusive). */
  since?: string;
  until?: string;
  session_id?: string;
}

export interface IIntegrityProblem {
  session_id: string;
  message_id: string | null;
  kind: string;
  detail: string;
}

export interface IVerifyReport {
  ok: boolean;
  sessions: number;
  messages: number;
  problems: IIntegrityProblem[];
}

export type ExportFormat = 'markdown' | 'json' | 'txt' | 'html' | 'ipynb';

/**
 * An HTTP error with the server's own explanation when it gave one: its JSON `message`,
 * else the status line.
 */
export class MirrorApiError extends ServerConnection.ResponseError {
  /** The HTTP status (404: no such session or message, 409: the session is sealed). */
  get status(): number {
    return this.response.status;
  }
}

/** The one line a panel shows for a failed request. */
export function describeError(error: unknown): string {
  if (error instanceof ServerConnection.NetworkError) {
    return 'The Jupyter server is not answering (stopped or unreachable). Retrying…';
  }
  if (error instanceof MirrorApiError) {
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

function apiUrl(path: string, query: Record<string, string | number> = {}): string {
  const settings = ServerConnection.makeSettings();
  const search = URLExt.objectToQueryString(query);
  return URLExt.join(settings.baseUrl, 'activemirror', 'api', path) + search;
}

/**
 * The response to a request under `/activemirror/api/`, once the server has answered OK.
 * Throws `ServerConnection.NetworkError` when the server cannot be reached and
 * `MirrorApiError` for any other status. For bodies that are not JSON (exports,
 * attachments); everything else goes through `requestAPI`.
 */
async function fetchAPI(
  path: string,
  query: Record<string, string | number> = {},
  init: RequestInit = {}
): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(apiUrl(path, query), init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && typeof body.message === 'string' && body.message) {
        message = body.message;
      }
    } catch {
      // Not JSON: keep the status line.
    }
    throw new MirrorApiError(response, message);
  }
  return response;
}

/** A request under `/activemirror/api/` and its JSON answer, read as a `T`. */
async function requestAPI<T>(
  path: string,
  query: Record<string, string | number> = {},
  init: RequestInit = {}
): Promise<T> {
  const response = await fetchAPI(path, query, init);
  return (await response.json()) as T;
}

/** The `init` of a POST with `body` as JSON. */
function postJSON(body: unknown): RequestInit {
  return {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  };
}

function sessionPath(sessionId: string, ...rest: string[]): string {
  return ['sessions', encodeURIComponent(sessionId), ...rest.map(encodeURIComponent)].join('/');
}

export async function listSessions(
  limit: number,
  offset: number,
  options: { roots?: boolean; parent?: string } = {}
): Promise<ISessionPage> {
  const query: Record<string, string | number> = { limit, offset };
  if (options.roots) {
    query.roots = 1;
  }
  if (options.parent) {
    query.parent = options.parent;
  }
  return requestAPI<ISessionPage>('sessions', query);
}

export async function getSession(sessionId: string): Promise<ISessionSummary> {
  return requestAPI<ISessionSummary>(sessionPath(sessionId));
}

export async function createSession(
  title: string,
  parentSessionId: string | null = null,
  tags: string[] = []
): Promise<ISessionSummary> {
  const body: Record<string, unknown> = { title, tags };
  if (parentSessionId) {
    body.parent_session_id = parentSessionId;
  }
  return requestAPI<ISessionSummary>('sessions', {}, postJSON(body));
}

export async function getMessages(
  sessionId: string,
  limit: number,
  offset: number
): Promise<IMessagePage> {
  return requestAPI<IMessagePage>(sessionPath(sessionId, 'messages'), { limit, offset });
}

export async function getMessagePlace(
  sessionId: string,
  messageId: string
): Promise<IMessagePlace> {
  return requestAPI<IMessagePlace>(sessionPath(sessionId, 'messages', messageId));
}

export async function addMessage(
  sessionId: string,
  content: string,
  role: Role
): Promise<IMessage> {
  return requestAPI<IMessage>(sessionPath(sessionId, 'messages'), {}, postJSON({ content, role }));
}

/** Remove a saved message's content, metadata and attachments for good; the message as it
 * now is (redacting it again changes nothing: the first reason stays). */
export async function redactMessage(
  sessionId: string,
  messageId: string,
  reason: string
): Promise<IMessage> {
  return requestAPI<IMessage>(
    sessionPath(sessionId, 'messages', messageId, 'redact'),
    {},
    postJSON({ reason })
  );
}

/**
 * Saved messages matching `q`: by the words (newest first; `total` counts every match) or,
 * with `mode` `'meaning'`, the closest in meaning first (`total` is how many were ranked).
 * A server without the `[semantic]` extra answers a meaning search with a 501.
 */
export async function search(
  q: string,
  filters: ISearchFilters,
  limit: number,
  offset: number,
  mode: SearchMode = 'words'
): Promise<ISearchResult> {
  const query: Record<string, string | number> = { q, limit, offset };
  if (mode === 'meaning') {
    query.mode = mode;
  }
  for (const [name, value] of Object.entries(filters)) {
    if (value) {
      query[name] = value;
    }
  }
  return requestAPI<ISearchResult>('search', query);
}

export async function verify(sessionId: string): Promise<IVerifyReport> {
  return requestAPI<IVerifyReport>('verify', { session_id: sessionId });
}

/** The store's change token: it moves whenever any session is saved or deleted. */
export async function changes(): Promise<string> {
  const { version } = await requestAPI<{ version: string }>('changes');
  return version;
}

/** The store's last sync, by any process (`GET /activemirror/api/sync`). */
export interface ILastSync {
  /** ISO 8601 UTC. */
  at: string;
  /** The folder (or DSN) as the sync was given it. */
  remote: string;
  pushed: number;
  pulled: number;
  /** Why it failed; null when it worked. */
  error: string | null;
}

/** The store's last sync, or null if it has never synced. */
export async function lastSync(): Promise<ILastSync | null> {
  const { last } = await requestAPI<{ last: ILastSync | null }>('sync');
  return last;
}

/** Where the browser fetches an attachment (`<img src>`, a download link). */
export function attachmentUrl(
  sessionId: string,
  messageId: string,
  name: string,
  download = false
): string {
  return apiUrl(
    sessionPath(sessionId, 'messages', messageId, 'attachments', name),
    download ? { download: 1 } : {}
  );
}

export async function attachmentText(
  sessionId: string,
  messageId: string,
  name: string
): Promise<string> {
  const path = sessionPath(sessionId, 'messages', messageId, 'attachments', name);
  const response = await fetchAPI(path);
  // Decoded by the charset the attachment's type names (the server adds UTF-8 when it
  // names none); a charset the browser does not know is read as UTF-8.
  const type = response.headers.get('Content-Type') ?? '';
  const charset = /;\s*charset="?([^";\s]+)"?/i.exec(type)?.[1] ?? 'utf-8';
  const bytes = await response.arrayBuffer();
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return new TextDecoder().decode(bytes);
  }
}

export async function exportSession(
  sessionId: string,
  format: ExportFormat = 'markdown'
): Promise<string> {
  const response = await fetchAPI(sessionPath(sessionId, 'export'), { format });
  return response.text();
}

/** An export as a file to save: its bytes and the name the server gave it. */
export async function exportFile(
  sessionId: string,
  format: ExportFormat
): Promise<{ blob: Blob; filename: string }> {
  const response = await fetchAPI(sessionPath(sessionId, 'export'), { format });
  const disposition = response.headers.get('Content-Disposition') ?? '';
  return { blob: await response.blob(), filename: fileName(disposition, `${sessionId}.${format}`) };
}

/** The file name in a `Content-Disposition` header (`filename*` first, RFC 6266). */
export function fileName(disposition: string, fallback: string): string {
  const extended = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  if (extended) {
    try {
      return decodeURIComponent(extended[1]);
    } catch {
      // malformed: try the plain one
    }
  }
  const plain = /filename="([^"]+)"/i.exec(disposition);
  return plain ? plain[1] : fallback;
}
