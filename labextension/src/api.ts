/**
 * Client of the server extension's REST API (`/activemirror/api/...`).
 *
 * Requests go through `ServerConnection`, so they carry the same token/XSRF
 * credentials as every other JupyterLab request.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** One row of the session list (`GET /activemirror/api/sessions`). */
export interface ISessionSummary {
  id: string;
  title: string;
  user_id: string | null;
  parent_session_id: string | null;
  status: string;
  created_at: string;
  updated_at: string;
  message_count: number;
}

export interface ISessionPage {
  sessions: ISessionSummary[];
  total: number;
  limit: number;
  offset: number;
}

export interface IMessage {
  id: string;
  session_id: string;
  role: string;
  content: string;
  timestamp: string;
  metadata: Record<string, unknown>;
}

export interface IMessagePage {
  session_id: string;
  messages: IMessage[];
  total: number;
  limit: number;
  offset: number;
}

export type ExportFormat = 'markdown' | 'json' | 'txt';

/** An HTTP error with the server's own explanation when it gave one. */
export class MirrorApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

async function request(
  path: string,
  query: Record<string, string | number> = {}
): Promise<Response> {
  const settings = ServerConnection.makeSettings();
  const search = URLExt.objectToQueryString(query);
  const url = URLExt.join(settings.baseUrl, 'activemirror', 'api', path) + search;
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, {}, settings);
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
    throw new MirrorApiError(message, response.status);
  }
  return response;
}

function sessionPath(sessionId: string, ...rest: string[]): string {
  return ['sessions', encodeURIComponent(sessionId), ...rest].join('/');
}

export async function listSessions(limit: number, offset: number): Promise<ISessionPage> {
  const response = await request('sessions', { limit, offset });
  return (await response.json()) as ISessionPage;
}

export async function getSession(sessionId: string): Promise<ISessionSummary> {
  const response = await request(sessionPath(sessionId));
  return (await response.json()) as ISessionSummary;
}

export async function getMessages(
  sessionId: string,
  limit: number,
  offset: number
): Promise<IMessagePage> {
  const response = await request(sessionPath(sessionId, 'messages'), { limit, offset });
  return (await response.json()) as IMessagePage;
}

export async function exportSession(
  sessionId: string,
  format: ExportFormat = 'markdown'
): Promise<string> {
  const response = await request(sessionPath(sessionId, 'export'), { format });
  return response.text();
}
